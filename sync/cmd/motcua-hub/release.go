package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"motcua-agent/sync/release"
)

// cmdRelease is the province's signed releases (sync/release): init and publish run
// on the offline machine that holds the root and release keys; refresh runs on the hub
// (hub.key and repository/ only), at least daily, so the agents keep trusting it.
func cmdRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "init" && args[0] != "publish" && args[0] != "refresh") {
		fmt.Fprintln(stderr, "usage: motcua-hub release init|publish|refresh --dir DIR; 'motcua-hub help release'")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("release "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the release folder (keys and repository/)")
	version := fs.String("version", "", "publish: the version, numbers like 1.4.0, greater than every published one")
	files := map[release.Kind]*string{
		release.KindWindowsExe: fs.String("exe", "", "publish: motcua-agent.exe, Authenticode-signed already"),
		release.KindDeb:        fs.String("deb", "", "publish: the Debian package"),
		release.KindLinux:      fs.String("linux", "", "publish: the linux amd64 binary"),
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		return fail(stderr, "release "+sub, fmt.Errorf("unexpected %q", fs.Arg(0)), 2)
	}
	if *dir == "" {
		return fail(stderr, "release "+sub, errors.New("--dir is required"), 2)
	}
	now := time.Now()
	switch sub {
	case "init":
		if err := release.Init(*dir, now); err != nil {
			return fail(stderr, "release init", err, 1)
		}
		fmt.Fprintf(stdout, "Release folder %s made.\nKeep %s and %s offline (a USB key in a safe); copy %s and %s to the hub.\nShip %s with the agents as their trusted root.\n",
			*dir, release.RootKeyFile, release.ReleaseKeyFile, release.HubKeyFile, release.RepositoryDir+"/",
			filepath.Join(*dir, release.RepositoryDir, "1.root.json"))
	case "publish":
		given := map[release.Kind]string{}
		for k, p := range files {
			if *p != "" {
				given[k] = *p
			}
		}
		if *version == "" {
			return fail(stderr, "release publish", errors.New("--version is required"), 2)
		}
		if err := release.Publish(*dir, *version, given, now); err != nil {
			return fail(stderr, "release publish", err, 1)
		}
		fmt.Fprintf(stdout, "Version %s signed into %s. Copy %s to the hub; the hub's 'release refresh' then serves it.\n",
			*version, filepath.Join(*dir, release.RepositoryDir), release.RepositoryDir+"/")
	case "refresh":
		if err := release.Refresh(*dir, now); err != nil {
			return fail(stderr, "release refresh", err, 1)
		}
		fmt.Fprintf(stdout, "Snapshot and timestamp re-signed; the agents trust them until %s.\n", now.Add(release.TimestampExpiry).Format(time.RFC3339))
	}
	return 0
}
