package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"

	"golang.org/x/crypto/bcrypt"

	"github.com/pscm/pscm/internal/config"
)

// Role decides which sites a user may see.
type Role string

const (
	// RoleAdmin sees every site: province staff and operators.
	RoleAdmin Role = "admin"
	// RoleManager sees only the sites listed for them: a center's managers
	// must not read another commune's numbers.
	RoleManager Role = "manager"
	// RoleOfficial is an official at the counters (issue 17): they see
	// their own page and nothing else, not even their site's dashboard.
	RoleOfficial Role = "official"
)

// MinCost is the lowest bcrypt cost a users file may hold. Below it an
// offline attack on a leaked file is cheap; 10 is bcrypt's own default.
const MinCost = 10

// HashCost is what HashPassword uses: slower than MinCost on purpose, since a
// login costs one comparison and an attacker costs billions.
const HashCost = 12

// maxUsersFileSize bounds the users file; a province has hundreds of users,
// not megabytes of them.
const maxUsersFileSize = config.MaxFileSize

// siteID is the ID rule of docs/events.md, shared with every event's site.
var siteID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// userName keeps login names plain ASCII so they are safe to log and to put
// in a cookie; the Vietnamese name goes in DisplayName.
var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// User is one dashboard login. Hash never leaves the package in JSON or
// logs: see String and LogValue.
type User struct {
	Name        string   `yaml:"name" json:"name"`
	Hash        string   `yaml:"hash" json:"-"`
	Role        Role     `yaml:"role" json:"role"`
	Sites       []string `yaml:"sites" json:"sites,omitempty"`
	DisplayName string   `yaml:"display_name" json:"display_name,omitempty"`
	// Official is an official's roster ID (role official only).
	Official string `yaml:"official" json:"official,omitempty"`
}

// CanSee reports whether u may see site. An ID that is not a valid site ID
// is refused even for an admin, so a handler that checks CanSee before
// building a query never passes a crafted value through. An official sees
// no site: their own page is all they see (OwnOfficial).
func (u User) CanSee(site string) bool {
	if !siteID.MatchString(site) {
		return false
	}
	switch u.Role {
	case RoleAdmin:
		return true
	case RoleManager:
		for _, s := range u.Sites {
			if s == site {
				return true
			}
		}
	}
	return false
}

// OwnOfficial is the roster ID whose page an official may read, or "".
func (u User) OwnOfficial() string {
	if u.Role == RoleOfficial {
		return u.Official
	}
	return ""
}

// String names the user without the hash, so a stray %v never prints it.
func (u User) String() string { return u.Name }

// LogValue keeps the hash out of structured logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", u.Name), slog.String("role", string(u.Role)))
}

// usersFile is the YAML layout: a top-level users list leaves room for
// later keys without breaking old files.
type usersFile struct {
	Users []User `yaml:"users"`
}

func (f usersFile) Validate() error { return validateUsers(f.Users, MinCost) }

// LoadUsers reads and validates a users file. The file holds password
// hashes, so it must be readable by its owner only: a world-readable file
// invites an offline attack, and refusing to start is the clearest warning.
func LoadUsers(path string) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth: users file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// the bytes read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: users file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("auth: users file %s: mode %04o lets group or others read it; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxUsersFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("auth: users file %s: %w", path, err)
	}
	if len(data) > maxUsersFileSize {
		return nil, fmt.Errorf("auth: users file %s: larger than %d bytes", path, maxUsersFileSize)
	}
	var uf usersFile
	if err := config.Decode(data, &uf); err != nil {
		return nil, fmt.Errorf("auth: users file %s: %w", path, err)
	}
	return uf.Users, nil
}

// validateUsers checks every rule LoadUsers promises; New runs it too, so
// users built in code get the same checks as users read from a file.
// minCost is MinCost except in this package's tests, which use cheap hashes
// so that the race detector does not turn each login into a second.
func validateUsers(users []User, minCost int) error {
	if len(users) == 0 {
		return errors.New("no users")
	}
	seen := make(map[string]bool, len(users))
	for i, u := range users {
		if err := validateUser(u, minCost); err != nil {
			return fmt.Errorf("users[%d] %q: %w", i, u.Name, err)
		}
		if seen[u.Name] {
			return fmt.Errorf("users[%d] %q: name used twice", i, u.Name)
		}
		seen[u.Name] = true
	}
	return nil
}

func validateUser(u User, minCost int) error {
	if !userName.MatchString(u.Name) {
		return errors.New("name: must match " + userName.String())
	}
	cost, err := bcrypt.Cost([]byte(u.Hash))
	if err != nil {
		// The hash is not echoed: it is still a secret, even if malformed.
		return errors.New("hash: not a bcrypt hash")
	}
	if cost < minCost {
		return fmt.Errorf("hash: bcrypt cost %d is below the minimum %d; rehash the password", cost, minCost)
	}
	switch u.Role {
	case RoleAdmin:
		if len(u.Sites) > 0 {
			return errors.New("sites: an admin sees every site; remove the list or use role manager")
		}
	case RoleManager:
		if len(u.Sites) == 0 {
			return errors.New("sites: a manager needs at least one site")
		}
	case RoleOfficial:
		if len(u.Sites) != 1 || !siteID.MatchString(u.Official) {
			return errors.New("an official needs their one site (sites: [site]) and their roster ID (official: id)")
		}
	case "":
		return errors.New("role: required (admin, manager or official)")
	default:
		return fmt.Errorf("role: %q is not admin, manager or official", u.Role)
	}
	if u.Official != "" && u.Role != RoleOfficial {
		return errors.New("official: only for role official")
	}
	sites := make(map[string]bool, len(u.Sites))
	for _, s := range u.Sites {
		if !siteID.MatchString(s) {
			return fmt.Errorf("sites: %q must match %s", s, siteID)
		}
		if sites[s] {
			return fmt.Errorf("sites: %q listed twice", s)
		}
		sites[s] = true
	}
	return nil
}

// HashPassword hashes pw for the users file, for an admin command. bcrypt
// ignores bytes past 72, so a longer password is refused rather than
// silently shortened.
func HashPassword(pw string) (string, error) {
	if err := config.WeakSecret(pw, config.MinPasswordLen); err != nil {
		// Refused here too, so the admin learns it now, not at the
		// manager's first login.
		return "", fmt.Errorf("auth: password not accepted: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), HashCost)
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return string(h), nil
}
