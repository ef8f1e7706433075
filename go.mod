module motcua-agent

go 1.25
