package vcard

import "motcua-agent/drivers/emrtd/internal/sm"

type paceState struct{}

func (c *Card) manageSecurityEnvironment(cmd sm.Command, protected bool) ([]byte, uint16) {
	return nil, 0x6A86
}

func (c *Card) generalAuthenticate(cmd sm.Command, protected bool) ([]byte, uint16) {
	return nil, 0x6985
}

func (c *Card) internalAuthenticate(cmd sm.Command, protected bool) ([]byte, uint16) {
	return nil, 0x6D00
}
