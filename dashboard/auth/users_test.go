package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// copyFixture copies a testdata file to a private temp file: git does not
// keep the 0600 mode LoadUsers insists on.
func copyFixture(t *testing.T, name string, mode os.FileMode) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadUsersValid(t *testing.T) {
	users, err := LoadUsers(copyFixture(t, "users.yml", 0o600))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(users))
	for _, u := range users {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", u.Name, u.Role, strings.Join(u.Sites, ","), u.DisplayName))
	}
	want := []string{
		"root|admin||Quản trị tỉnh",
		"lan|manager|anlao|Nguyễn Thị Lan",
		"minh|manager|anlao,phuoc-thanh|",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users = %q, want %q", got, want)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(users[1].Hash), []byte("correct horse battery")); err != nil {
		t.Errorf("lan's hash does not match the documented password: %v", err)
	}
}

func TestLoadUsersInvalid(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"invalid-unknown-key.yml", "yaml: unmarshal errors:\n  line 6: field pasword not found in type auth.User"},
		{"invalid-top-level-key.yml", "yaml: unmarshal errors:\n  line 1: field user not found in type auth.usersFile"},
		{"invalid-low-cost.yml", `users[0] "weak": hash: bcrypt cost 4 is below the minimum 10; rehash the password`},
		{"invalid-not-bcrypt.yml", `users[0] "lan": hash: not a bcrypt hash`},
		{"invalid-bad-role.yml", `users[0] "lan": role: "owner" is not admin, manager or official`},
		{"invalid-no-role.yml", `users[0] "lan": role: required (admin, manager or official)`},
		{"invalid-manager-no-sites.yml", `users[0] "lan": sites: a manager needs at least one site`},
		{"invalid-admin-with-sites.yml", `users[0] "root": sites: an admin sees every site; remove the list or use role manager`},
		{"invalid-bad-site.yml", `users[0] "lan": sites: "An-Lao" must match ^[a-z0-9][a-z0-9_-]{0,62}$`},
		{"invalid-duplicate-site.yml", `users[0] "lan": sites: "anlao" listed twice`},
		{"invalid-duplicate-name.yml", `users[1] "lan": name used twice`},
		{"invalid-bad-name.yml", `users[0] "lan smith": name: must match ^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`},
		{"invalid-no-users.yml", "no users"},
		{"invalid-empty.yml", "empty file"},
		{"invalid-two-documents.yml", "more than one YAML document"},
	}
	// Every invalid fixture must have a row, so a new file is not forgotten.
	files, _ := filepath.Glob("testdata/invalid-*.yml")
	if len(files) != len(tests) {
		t.Errorf("%d invalid fixtures, %d table rows", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := copyFixture(t, tt.file, 0o600)
			_, err := LoadUsers(path)
			want := "auth: users file " + path + ": " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("err = %v\nwant  %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes the secret: %v", err)
			}
		})
	}
}

func TestLoadUsersPermissions(t *testing.T) {
	tests := []struct {
		mode    os.FileMode
		wantErr bool
	}{
		{0o600, false},
		{0o400, false},
		{0o640, true},
		{0o604, true},
		{0o644, true},
		{0o660, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			path := copyFixture(t, "users.yml", tt.mode)
			_, err := LoadUsers(path)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			want := fmt.Sprintf("auth: users file %s: mode %04o lets group or others read it; run chmod 600 %s", path, tt.mode, path)
			if err == nil || err.Error() != want {
				t.Errorf("err = %v\nwant  %s", err, want)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if _, err := LoadUsers(filepath.Join(t.TempDir(), "nope.yml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
			t.Errorf("err = %v, want not-exist", err)
		}
	})
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestCanSee(t *testing.T) {
	admin := User{Name: "root", Role: RoleAdmin}
	lan := User{Name: "lan", Role: RoleManager, Sites: []string{"anlao"}}
	minh := User{Name: "minh", Role: RoleManager, Sites: []string{"anlao", "phuoc-thanh"}}
	odd := User{Name: "x", Role: "owner", Sites: []string{"anlao"}}
	tests := []struct {
		user User
		site string
		want bool
	}{
		{admin, "anlao", true},
		{admin, "any-site", true},
		{admin, "", false},
		{admin, "../anlao", false},
		{admin, `anlao" or r.site =~ /.*/`, false},
		{lan, "anlao", true},
		{lan, "phuoc-thanh", false},
		{lan, "ANLAO", false},
		{lan, "anlao ", false},
		{minh, "anlao", true},
		{minh, "phuoc-thanh", true},
		{minh, "hoai-nhon", false},
		{odd, "anlao", false},
		{User{}, "anlao", false},
	}
	for _, tt := range tests {
		t.Run(tt.user.Name+"/"+tt.site, func(t *testing.T) {
			if got := tt.user.CanSee(tt.site); got != tt.want {
				t.Errorf("CanSee(%q) = %v, want %v", tt.site, got, tt.want)
			}
		})
	}
}

func TestUserDoesNotLeakHash(t *testing.T) {
	u := User{Name: "lan", Hash: "$2a$10$gEsuaiIec8U2MyRktNRZQufsFDwQXLPxw1vOwA8xgUGIScpPJ/4SS", Role: RoleManager, Sites: []string{"anlao"}}
	j, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"%v":     fmt.Sprintf("%v", u),
		"String": u.String(),
		"%+v":    fmt.Sprintf("%+v", u),
		"json":   string(j),
	} {
		if strings.Contains(s, "gEsuaiIec8U2") {
			t.Errorf("%s shows the hash: %s", name, s)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("mật khẩu mới 2026")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != HashCost {
		t.Errorf("cost = %d, want %d", c, HashCost)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("mật khẩu mới 2026")); err != nil {
		t.Errorf("hash does not verify: %v", err)
	}
	if err := validateUser(User{Name: "a", Hash: h, Role: RoleAdmin}, MinCost); err != nil {
		t.Errorf("LoadUsers would refuse HashPassword's output: %v", err)
	}
	for _, pw := range []string{"", "admin", "matkhau123", "12345", strings.Repeat("xy", 37)} {
		if _, err := HashPassword(pw); err == nil {
			t.Errorf("HashPassword(%d bytes) accepted", len(pw))
		}
	}
}

// An official sees no site, only their own page; the role needs one site
// and a roster ID, and only it carries one.
func TestOfficialRole(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("x"), MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ok := User{Name: "lan", Hash: string(hash), Role: RoleOfficial, Sites: []string{"anlao"}, Official: "lan"}
	if err := validateUser(ok, MinCost); err != nil {
		t.Fatal(err)
	}
	if ok.CanSee("anlao") || ok.OwnOfficial() != "lan" {
		t.Errorf("official: CanSee %v, own %q", ok.CanSee("anlao"), ok.OwnOfficial())
	}
	for name, u := range map[string]User{
		"no site":          {Name: "lan", Hash: string(hash), Role: RoleOfficial, Official: "lan"},
		"two sites":        {Name: "lan", Hash: string(hash), Role: RoleOfficial, Sites: []string{"anlao", "hoaan"}, Official: "lan"},
		"no roster ID":     {Name: "lan", Hash: string(hash), Role: RoleOfficial, Sites: []string{"anlao"}},
		"manager with one": {Name: "lan", Hash: string(hash), Role: RoleManager, Sites: []string{"anlao"}, Official: "lan"},
	} {
		if err := validateUser(u, MinCost); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if m := (User{Role: RoleManager, Sites: []string{"anlao"}}); m.OwnOfficial() != "" {
		t.Error("a manager has an own official page")
	}
}
