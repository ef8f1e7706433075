package bhyt

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strings"

	"gopkg.in/yaml.v3"
)

// Account is how one operator looks up: a gateway user name and password, and the
// operator named in every check. Two modes are in use and both are supported: the
// operator's own registered account (the 2024 guidance; the user name is seen as the
// facility code and the person's ID number, "79001_079190000002"), or the facility's
// one account (e.g. "79001_BV") with the signed-in operator's own name and ID number
// sent as hoTenCb/cccdCb. It is a secret: it prints and logs as its key only.
type Account struct {
	// Key names the operator in the config and on the page (e.g. "dd-lan").
	Key      string
	Username string
	// ViaFacility: the operator signs in with the facility's account (Username and the
	// password are the facility's) and is named by their own name and ID number.
	ViaFacility bool
	// passwordMD5 is the password's MD5 in upper-case hex, as the gateway takes it.
	passwordMD5 string
	// OperatorName and OperatorID are the operator's full name and ID number, sent with
	// every check (hoTenCb, cccdCb).
	OperatorName string
	OperatorID   string
}

// NewAccount builds an account from a plain password.
func NewAccount(key, username, password, operatorName, operatorID string) Account {
	return Account{Key: key, Username: username, passwordMD5: PasswordMD5(password), OperatorName: operatorName, OperatorID: operatorID}
}

// PasswordMD5 is the gateway's form of a password: MD5, upper-case hex.
func PasswordMD5(password string) string {
	sum := md5.Sum([]byte(password))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// String shows the key only.
func (a Account) String() string { return "bhyt account " + a.Key }

// GoString shows the key only, so %#v cannot leak the password.
func (a Account) GoString() string { return a.String() }

// LogValue keeps everything but the key out of logs.
func (a Account) LogValue() slog.Value { return slog.StringValue(a.Key) }

// Accounts are the clinic's gateway accounts: each operator's own, and the facility's
// where the guidance still allows it.
type Accounts struct {
	Facility  *Account
	Operators []Account
}

// Operator finds an operator's account by key.
func (as *Accounts) Operator(key string) (Account, bool) {
	if as == nil {
		return Account{}, false
	}
	for _, a := range as.Operators {
		if a.Key == key {
			return a, true
		}
	}
	return Account{}, false
}

// Keys lists the operators' keys in file order.
func (as *Accounts) Keys() []string {
	if as == nil {
		return nil
	}
	keys := make([]string, len(as.Operators))
	for i, a := range as.Operators {
		keys[i] = a.Key
	}
	return keys
}

// accountsFile is the file's form.
type accountsFile struct {
	Facility  *accountEntry  `yaml:"facility"`
	Operators []accountEntry `yaml:"operators"`
}

type accountEntry struct {
	Key         string `yaml:"key"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordMD5 string `yaml:"password_md5"`
	Name        string `yaml:"name"`
	ID          string `yaml:"id"`
}

var (
	keyRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	md5Re = regexp.MustCompile(`^[0-9A-Fa-f]{32}$`)
	idRe  = regexp.MustCompile(`^[0-9]{12}$`)
)

// ExampleAccounts is the text of an accounts file to start from.
const ExampleAccounts = `# Gateway accounts for the health-insurance look-up (keep this file mode 0600,
# outside the agent's record; it is never logged).
#
# Two ways facilities sign in, both accepted by the gateway:
#  - each operator with their own registered account (the 2024 guidance): the user
#    name is usually the facility code and the operator's ID number;
#  - the facility's one account, each check naming the signed-in operator: list the
#    operator with name and id only (no username/password).
facility:
  key: co-so
  username: "79001_BV"
  password_md5: "0123456789ABCDEF0123456789ABCDEF"   # or password: "…"
  name: "Nguyễn Văn Trưởng"     # the person responsible, named when the facility account is used as a fallback
  id: "079080000001"
operators:
  - key: dd-lan                  # her own account
    username: "79001_079190000002"
    password: "…"
    name: "Nguyễn Thị Lan"       # full name without titles, as registered
    id: "079190000002"          # the operator's own ID number
  - key: dd-thu                  # signs in with the facility account above
    name: "Phạm Thị Thu"
    id: "079193000004"
`

// LoadAccounts reads an accounts file. On Unix it refuses a file that others may read
// (it holds passwords). Errors name the entry and field, never a secret.
func LoadAccounts(path string) (*Accounts, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("bhyt accounts: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("bhyt accounts: %s is readable by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bhyt accounts: %w", err)
	}
	return ParseAccounts(b)
}

// ParseAccounts reads the text of an accounts file.
func ParseAccounts(b []byte) (*Accounts, error) {
	var f accountsFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml's message may quote a line of the file, which holds passwords.
		return nil, errors.New("bhyt accounts: not a valid accounts file (see the example: `motcua-agent bhyt accounts-example`)")
	}
	as := &Accounts{}
	var problems []string
	if f.Facility != nil {
		a, errs := f.Facility.account("facility")
		problems = append(problems, errs...)
		as.Facility = &a
	}
	seen := map[string]bool{}
	for i, e := range f.Operators {
		path := fmt.Sprintf("operators[%d]", i)
		viaFacility := e.Username == "" && e.Password == "" && e.PasswordMD5 == ""
		if viaFacility {
			if f.Facility == nil {
				problems = append(problems, path+": give username and password, or a facility account for this operator to sign in with")
				continue
			}
			e.Username, e.Password, e.PasswordMD5 = f.Facility.Username, f.Facility.Password, f.Facility.PasswordMD5
		}
		a, errs := e.account(path)
		a.ViaFacility = viaFacility
		if viaFacility && len(errs) > 0 {
			// The facility's own entry reports its problems; name only the operator's.
			errs = operatorProblems(errs, path)
		}
		problems = append(problems, errs...)
		if seen[a.Key] {
			problems = append(problems, fmt.Sprintf("operators[%d].key: %q is used twice", i, a.Key))
		}
		seen[a.Key] = true
		as.Operators = append(as.Operators, a)
	}
	if as.Facility == nil && len(as.Operators) == 0 {
		problems = append(problems, "no accounts: add operators (and the facility account where allowed)")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("bhyt accounts: %s", strings.Join(problems, "; "))
	}
	return as, nil
}

// operatorProblems keeps the problems of an operator's own fields (name, id, key).
func operatorProblems(errs []string, path string) []string {
	var out []string
	for _, e := range errs {
		if strings.HasPrefix(e, path+".name") || strings.HasPrefix(e, path+".id") || strings.HasPrefix(e, path+".key") {
			out = append(out, e)
		}
	}
	return out
}

func (e accountEntry) account(path string) (Account, []string) {
	var p []string
	if !keyRe.MatchString(e.Key) {
		p = append(p, path+".key: required: letters, digits, '.', '_' or '-'")
	}
	if e.Username == "" {
		p = append(p, path+".username: required")
	}
	pw := ""
	switch {
	case e.Password != "" && e.PasswordMD5 != "":
		p = append(p, path+": set password or password_md5, not both")
	case e.Password != "":
		pw = PasswordMD5(e.Password)
	case md5Re.MatchString(e.PasswordMD5):
		pw = strings.ToUpper(e.PasswordMD5)
	case e.PasswordMD5 != "":
		p = append(p, path+".password_md5: must be 32 hex digits")
	default:
		p = append(p, path+".password: required")
	}
	if strings.TrimSpace(e.Name) == "" {
		p = append(p, path+".name: required: the operator's full name as registered")
	}
	if !idRe.MatchString(e.ID) {
		p = append(p, path+".id: required: the operator's 12-digit ID number")
	}
	return Account{Key: e.Key, Username: e.Username, passwordMD5: pw, OperatorName: strings.TrimSpace(e.Name), OperatorID: e.ID}, p
}
