package wire

// ConfigPath (schema 4) is where an agent fetches the configuration a push answer
// offered it: GET, signed like a push over an empty body (PROTOCOL.md, "Steering").
const ConfigPath = "/api/v1/config"

// Headers of the configuration's answer: its version and the hex SHA-256 of its bytes,
// the same as the offer's.
const (
	HeaderConfigVersion = "X-Motcua-Config-Version"
	HeaderConfigSHA256  = "X-Motcua-Config-Sha256"
)

// MaxConfigBytes bounds a published configuration (config.MaxLayerBytes, the same).
const MaxConfigBytes = 256 << 10

// CodeNoConfig answers a fetch when nothing is published for the device.
const CodeNoConfig = "no_config"
