module motcua-agent

go 1.25

require github.com/ebfe/scard v0.0.0-20241214075232-7af069cabc25
