package emrtd

import (
	"context"
	"io"
)

// choosePACE returns the first PACE protocol this package speaks.
func choosePACE(info *SecurityInfos) *PACEInfo {
	return nil
}

func (c *conn) pace(ctx context.Context, p PACEInfo, k AccessKey, random io.Reader) error {
	return errNotImplemented
}

func (r *reader) chipAuth(ctx context.Context, dg14 *SecurityInfos) error {
	return errNotImplemented
}

func (r *reader) activeAuth(ctx context.Context, key *PublicKey, dg14 *SecurityInfos) Check {
	return Check{Status: CheckError, Detail: "not implemented"}
}
