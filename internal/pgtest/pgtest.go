// Package pgtest gives tests a real PostgreSQL database of their own: New creates a
// fresh database on a server and drops it when the test ends.
//
// The server is the one MOTCUA_TEST_POSTGRES names (a DSN to an administrative
// database, e.g. postgres://postgres@127.0.0.1:5432/postgres) or, without it, a private
// server this test process starts once (initdb into a temporary directory, a free
// loopback port) and stops when it ends: call Main from the package's TestMain. The
// private server dies with the test process even when that process is killed. When no
// server can be had the tests skip with the reason, unless MOTCUA_REQUIRE_POSTGRES=1
// (CI), where they fail.
//
// It must never touch a database it did not create.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver
)

// server is the administrative connection to the server the tests use.
type server struct {
	admin string  // DSN of the administrative database
	db    *sql.DB // pool on it
	stop  func()  // stops a private server; nil for MOTCUA_TEST_POSTGRES
	pid   int     // the private server's process (its shell), for ServerCPU
	err   error   // why no server can be had
}

var (
	once   sync.Once
	shared *server
)

func get() *server {
	once.Do(func() { shared = find() })
	return shared
}

func find() *server {
	if dsn := os.Getenv("MOTCUA_TEST_POSTGRES"); dsn != "" {
		s := &server{admin: dsn}
		s.db, s.err = connect(dsn, 10*time.Second)
		if s.err != nil {
			s.err = fmt.Errorf("MOTCUA_TEST_POSTGRES: %w", s.err)
		}
		return s
	}
	var err error
	for range 3 { // a free port may be taken between choosing and binding it
		var s *server
		if s, err = startPrivate(); err == nil {
			return s
		}
	}
	return &server{err: err}
}

func connect(dsn string, wait time.Duration) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return db, nil
		}
		if time.Now().After(deadline) {
			db.Close()
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// binDir finds the PostgreSQL server programs: on PATH, else the newest
// /usr/lib/postgresql/N/bin (Debian).
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server found (install the Debian package postgresql, or set MOTCUA_TEST_POSTGRES)")
}

// startPrivate initialises a server in a temporary directory and starts it on a free
// loopback port. PostgreSQL refuses to run as root: as root it runs as the postgres
// user.
func startPrivate() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	var asUser []string
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asUser = []string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--"}
	}
	dir, err := os.MkdirTemp("", "motcua-pgtest-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			cleanup()
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := command(asUser, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("initdb: %v: %s", err, strings.TrimSpace(string(out)))
	}
	port, err := freePort()
	if err != nil {
		cleanup()
		return nil, err
	}
	// The shell starts the server, and stops it (fast shutdown) and removes its folder
	// when its stdin closes, which happens when this process ends, however it ends.
	script := `dir=$1; shift; "$@" & pid=$!; read _ || true; kill -INT $pid; wait $pid; rm -rf "$dir"`
	args := []string{"-c", script, "pgtest", dir, filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir,
		"-c", "max_connections=400", "-c", "log_min_messages=fatal"}
	// MOTCUA_PGTEST_SETTINGS adds server settings (space-separated name=value), e.g.
	// shared_preload_libraries=pg_stat_statements to see where a benchmark's time goes.
	for _, kv := range strings.Fields(os.Getenv("MOTCUA_PGTEST_SETTINGS")) {
		args = append(args, "-c", kv)
	}
	cmd := command(asUser, "sh", args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cleanup()
		return nil, err
	}
	logFile, _ := os.Create(filepath.Join(dir, "server.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // ^C in the terminal reaches the tests, not the server
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	ended := make(chan struct{})
	go func() { cmd.Wait(); close(ended) }()
	stop := func() {
		stdin.Close()
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-ended
		}
		logFile.Close()
		cleanup()
	}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	db, err := connect(admin, 60*time.Second)
	if err != nil {
		stop()
		return nil, fmt.Errorf("private server on port %d did not answer: %w", port, err)
	}
	return &server{admin: admin, db: db, stop: stop, pid: cmd.Process.Pid}, nil
}

// command runs prog with args, through asUser (setpriv …) when that is set.
func command(asUser []string, prog string, args ...string) *exec.Cmd {
	if len(asUser) == 0 {
		return exec.Command(prog, args...)
	}
	return exec.Command(asUser[0], append(append(asUser[1:len(asUser):len(asUser)], prog), args...)...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Main runs the package's tests and stops the private server, if one was started. Call
// it from TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the private server, if one was started.
func Stop() {
	if shared != nil && shared.stop != nil {
		shared.db.Close()
		shared.stop()
		shared.stop = nil
	}
}

// Available says whether a server can be had, and if not why.
func Available() error { return get().err }

// New creates an empty database for the test and returns its DSN; the database is
// dropped when the test ends. Without a server the test skips (fails when
// MOTCUA_REQUIRE_POSTGRES=1).
func New(t testing.TB) string {
	t.Helper()
	s := get()
	if s.err != nil {
		if os.Getenv("MOTCUA_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required (MOTCUA_REQUIRE_POSTGRES=1) but unavailable: %v", s.err)
		}
		t.Skipf("no PostgreSQL for this test: %v", s.err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "motcua_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := s.db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.admin)
	if err != nil {
		t.Fatalf("admin DSN: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// ServerCPU is the CPU time the private server has used so far, all its processes
// together (ended backends included), for benchmarks that count the database's work;
// false for a server this process did not start.
func ServerCPU() (time.Duration, bool) {
	s := get()
	if s.err != nil || s.pid == 0 {
		return 0, false
	}
	return TreeCPU(s.pid), true
}

// TreeCPU is the CPU time of process pid and its live descendants, with the children
// each of them has reaped (Linux /proc; clock ticks of 10 ms).
func TreeCPU(pid int) time.Duration {
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// After the command name in parentheses: state ppid … utime(14) stime cutime cstime.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += v
		}
		procs[p] = proc{ppid: ppid, ticks: ticks}
	}
	var total int64
	for p, pr := range procs {
		for q := p; q > 1; q = procs[q].ppid {
			if q == pid {
				total += pr.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return time.Duration(total) * 10 * time.Millisecond
}
