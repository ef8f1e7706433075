module motcua-agent

go 1.25.0

require (
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/kardianos/service v1.3.0
	github.com/mattn/go-sqlite3 v1.14.53
	go.bug.st/serial v1.8.0
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/sys v0.43.0 // indirect
