package emrtd

type ecPublicKey struct{}
