module motcua-agent

go 1.25

require (
	github.com/mattn/go-sqlite3 v1.14.53
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/kardianos/service v1.3.0 // indirect
	golang.org/x/sys v0.34.0 // indirect
)
