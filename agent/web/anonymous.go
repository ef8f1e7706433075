package web

// anonymousRole is a role whose screens stand in public view (the kiosk, the display
// board, a counter's rating tablet): it gets nothing that could link one person's visits (a message's
// bus.Linkable part), whatever the config says about personal data.
func anonymousRole(r Role) bool { return r == RoleKiosk || r == RoleDisplay || r == RoleRating }
