package web

import "encoding/json"

// anonymousRole is a role whose screens stand in public view (the kiosk, the display
// board, a counter's rating tablet): it gets nothing that could link one person's
// visits, whatever the config says about personal data.
func anonymousRole(r Role) bool { return r == RoleKiosk || r == RoleDisplay || r == RoleRating }

// linkableFields are the public fields that are stable per person or per dossier: a
// keyed hash of an ID number is the same pseudonym at every visit, and a dossier code
// finds its applicant on the public look-up portal. This list is the one place that
// decides what of a message an anonymous role may not see.
var linkableFields = map[string]bool{"id_hash": true, "dossier": true}

// Unlinkable returns the JSON form of a message's public part without its linkable
// fields, at any depth. Messages are typed per topic; going through their JSON form
// catches every topic's type, present and future, by the same field names the
// stream sends.
func Unlinkable(public any) any {
	if public == nil {
		return nil
	}
	b, err := json.Marshal(public)
	if err != nil {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return dropLinkable(v)
}

func dropLinkable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if linkableFields[k] {
				delete(t, k)
				continue
			}
			t[k] = dropLinkable(x)
		}
	case []any:
		for i, x := range t {
			t[i] = dropLinkable(x)
		}
	}
	return v
}
