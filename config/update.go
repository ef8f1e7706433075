package config

import "time"

// Update configures the agent's self-update from the province's signed releases,
// fetched from the hub (sync.url + /releases) and verified against root_file.
type Update struct {
	// RootFile is the release repository's root.json as the installer shipped it: the
	// only key the agent trusts from the start. Empty: this PC never updates itself
	// (a technician may still run `motcua-agent update apply`).
	RootFile string `yaml:"root_file"`
	// CheckEvery is how often the agent tries again an update it could not apply
	// (busy counter, unreachable hub) and, in mode latest, looks for a newer release
	// (default 15m). An offer from the hub is acted on at the push that brings it.
	CheckEvery time.Duration `yaml:"check_every"`
	// Mode: "rollout" (default) applies only the version the hub's rollout offers this
	// PC; "latest" also the newest signed release without a rollout; "off" nothing.
	Mode string `yaml:"mode"`
}

// Update modes.
const (
	UpdateRollout = "rollout"
	UpdateLatest  = "latest"
	UpdateOff     = "off"
)

// Enabled says whether the agent checks for updates at all.
func (u *Update) Enabled() bool { return u.RootFile != "" && u.Mode != UpdateOff }

func (u *Update) setDefaults() {
	if u.CheckEvery == 0 {
		u.CheckEvery = 15 * time.Minute
	}
	if u.Mode == "" {
		u.Mode = UpdateRollout
	}
}

func (u *Update) validate(p *Problems, path string, sync *Sync) {
	switch u.Mode {
	case UpdateRollout, UpdateLatest, UpdateOff:
	default:
		p.Add(path+".mode", "must be rollout, latest or off (got %q)", u.Mode)
	}
	if u.CheckEvery < time.Minute || u.CheckEvery > 24*time.Hour {
		p.Add(path+".check_every", "must be between 1m and 24h, not %s", u.CheckEvery)
	}
	if u.RootFile == "" && u.Mode == UpdateLatest {
		p.Add(path+".root_file", "required with mode latest: the root.json shipped with the agent (motcua-hub release init makes it)")
	}
	if u.Enabled() && !sync.Enabled() {
		p.Add(path+".root_file", "updates come from the hub: set sync.url too, or mode: off")
	}
}
