package hub

const hubChildEnv = "MOTCUA_HUB_CHILD"

func runHubChild() int { return 0 }
