package main

import (
	"context"
	"fmt"
	"os"
)

func cmdQRDecode(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "qr decode: not built yet")
	return 1
}
