module motcua-agent

go 1.25

require (
	github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
	github.com/kardianos/service v1.3.0
	github.com/mattn/go-sqlite3 v1.14.53
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/sys v0.34.0 // indirect
