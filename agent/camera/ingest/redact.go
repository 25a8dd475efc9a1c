package ingest

import (
	"net/url"
	"strings"
)

// redacted replaces every secret Redact removes.
const redacted = "xxxxx"

// Redact returns rawURL safe for logs, metrics and errors: a password in the
// userinfo becomes xxxxx (the user name stays, it helps the installer), and
// so do query values whose name looks like a credential. A URL that does
// not parse is replaced whole, since where its password is cannot be known.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL, redacted)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		// Some cameras take credentials in the query (?user=admin&password=...).
		secretParams := []string{"pass", "pwd", "token", "key", "auth", "secret", "sig", "session"}
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range secretParams {
				if strings.Contains(lk, s) {
					for i := range q[k] {
						q[k][i] = redacted
					}
					break
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrub removes the password from an error message, for errors of
// libraries that may quote a URL they were given.
func scrub(msg, password string) string {
	if password == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, password, redacted)
	if esc := url.QueryEscape(password); esc != password {
		msg = strings.ReplaceAll(msg, esc, redacted)
	}
	if esc := url.PathEscape(password); esc != password {
		msg = strings.ReplaceAll(msg, esc, redacted)
	}
	return msg
}
