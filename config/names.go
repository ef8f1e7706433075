package config

import (
	"strconv"

	"motcua-agent/config/vocab"
)

// NameSite is the kind of the site's own name in Names (its code is the site's id).
const NameSite = "site"

// Names are the site's names for the codes its counters carry, by kind (a dimension:
// service, counter, station, lane; or the site itself) and code: what the agent's pages
// show instead of a code, and what it sends to the hub beside its counters (kinds the
// hub does not take are left out of the push).
func (c *Config) Names() map[string]map[string]string {
	out := map[string]map[string]string{}
	add := func(kind, code, name string) {
		if code == "" || name == "" || name == code {
			return
		}
		if out[kind] == nil {
			out[kind] = map[string]string{}
		}
		out[kind][code] = name
	}
	add(NameSite, c.Site.ID, c.Site.Name)
	for _, s := range vocab.EssentialServices { // dossiers' service codes default to the catalogue's numbers
		add(vocab.DimService, strconv.Itoa(s.No), s.Name)
	}
	for _, s := range c.Dossier.Services {
		add(vocab.DimService, s.Code, s.Name)
	}
	for _, s := range c.Queue.Services {
		add(vocab.DimService, s.Code, s.Name)
	}
	for _, q := range c.Queue.Counters {
		name := "Quầy " + q.ID
		if q.Location != "" {
			name += " (" + q.Location + ")"
		}
		add(vocab.DimCounter, q.ID, name)
	}
	for _, s := range c.Clinic.Stations {
		add(vocab.DimStation, s.ID, s.Title)
	}
	for _, l := range c.Gate.Lanes {
		add(vocab.DimLane, l.Name, l.Title)
	}
	for _, w := range c.Lodging.Wards {
		add(vocab.DimWard, w.ID, w.Title)
	}
	return out
}
