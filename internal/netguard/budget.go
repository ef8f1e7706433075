package netguard

// FitTo lowers lim.Total to what a process allowed budget open descriptors has left
// after keep of them for everything else (files, devices, the database, pipes), and
// PerAddress and Reserved with it. A budget of 0 (no limit known) changes nothing.
func (lim Limits) FitTo(budget, keep int) Limits {
	if budget <= 0 {
		return lim
	}
	room := max(budget-keep, 16)
	if lim.Total <= 0 || lim.Total > room {
		lim.Total = room
	}
	if lim.PerAddress > lim.Total {
		lim.PerAddress = lim.Total
	}
	if lim.Reserved >= lim.Total {
		lim.Reserved = lim.Total / 4
	}
	return lim
}
