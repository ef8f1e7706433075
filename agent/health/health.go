// Package health keeps the state of every device and component of the agent, for the
// dashboard, /healthz and the heartbeat sent upstream. It holds no personal data.
package health

import (
	"sort"
	"sync"
	"time"
)

// State of a device or component.
type State string

const (
	OK       State = "ok"
	Degraded State = "degraded"
	Fault    State = "fault"
	Absent   State = "absent"
)

// Device is the last known state of one device or component.
type Device struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"` // reader, scanner, printer, display, relay, store, sync …
	State State     `json:"state"`
	Since time.Time `json:"since"`
	// Detail is for technicians and logs (English); Message is shown to staff (Vietnamese).
	Detail  string `json:"detail,omitempty"`
	Message string `json:"message,omitempty"`
}

// Registry holds device states.
type Registry struct {
	mu      sync.Mutex
	now     func() time.Time
	devices map[string]Device
}

// New returns an empty registry using now for timestamps (time.Now when nil).
func New(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{now: now, devices: map[string]Device{}}
}

// Set records a device's state; Since changes only when the state does.
func (r *Registry) Set(d Device) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.devices[d.Name]
	if ok && old.State == d.State {
		d.Since = old.Since
	} else if d.Since.IsZero() {
		d.Since = r.now()
	}
	r.devices[d.Name] = d
}

// Remove forgets a device.
func (r *Registry) Remove(name string) {
	r.mu.Lock()
	delete(r.devices, name)
	r.mu.Unlock()
}

// Get returns one device's state.
func (r *Registry) Get(name string) (Device, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devices[name]
	return d, ok
}

// List returns every device, sorted by kind then name.
func (r *Registry) List() []Device {
	r.mu.Lock()
	out := make([]Device, 0, len(r.devices))
	for _, d := range r.devices {
		out = append(out, d)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Worst is the worst state among devices (OK when there are none); absent devices that
// the site never configured do not count, so callers Remove those.
func (r *Registry) Worst() State {
	rank := map[State]int{OK: 0, Absent: 1, Degraded: 2, Fault: 3}
	worst := OK
	for _, d := range r.List() {
		if rank[d.State] > rank[worst] {
			worst = d.State
		}
	}
	return worst
}
