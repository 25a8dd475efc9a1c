// Package influxql sends InfluxQL statements to InfluxDB 1.8's /query and
// reads its JSON answer: the one client of every program that reads the
// database (the dashboard's and pscm-ctl's figures, the collector's stored
// IDs), and the writer of the dashboard's rollups. Statements go over
// HTTP with the token (1.8's "user:password") in a Token header, as the
// writing client sends it.
package influxql

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds one answer read whole.
const maxBody = 64 << 20

// Client queries one database and retention policy.
type Client struct {
	url, db, rp, token string
	http               *http.Client
}

// New returns a client of bucket ("db" or "db/rp") at url; it does not
// contact InfluxDB. timeout bounds each request.
func New(url, bucket, token string, timeout time.Duration) *Client {
	db, rp, _ := strings.Cut(bucket, "/")
	return &Client{url: strings.TrimRight(url, "/"), db: db, rp: rp, token: token, http: &http.Client{Timeout: timeout}}
}

// Response is /query's JSON answer: one Result per statement.
type Response struct {
	Results []Result `json:"results"`
	Error   string   `json:"error"`
}

// Result is one statement's answer.
type Result struct {
	Series []Series `json:"series"`
	Error  string   `json:"error"`
}

// Series is one series of a statement's result. Numbers are json.Number,
// times nanoseconds since the epoch.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs stmts in one request (InfluxDB runs them one after another)
// and returns one Result each; a statement's error is the query's.
func (c *Client) Query(ctx context.Context, stmts []string) (*Response, error) {
	form := url.Values{"db": {c.db}, "epoch": {"ns"}, "q": {strings.Join(stmts, ";\n")}}
	if c.rp != "" {
		form.Set("rp", c.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, errors.New("answer larger than 64 MiB")
	}
	var out Response
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %.200s", resp.Status, body)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", resp.Status, out.Error)
	}
	for n, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("statement %d (%.120s): %s", n, stmts[min(n, len(stmts)-1)], r.Error)
		}
	}
	if len(out.Results) != len(stmts) {
		return nil, fmt.Errorf("%s: %d results for %d statements", resp.Status, len(out.Results), len(stmts))
	}
	return &out, nil
}

// Write sends points in line protocol (nanosecond times) to /write. Only
// the dashboard's rollups are written through it; the collector, the one
// writer of events, has its own client.
func (c *Client) Write(ctx context.Context, lines []byte) error {
	q := url.Values{"db": {c.db}, "precision": {"ns"}}
	if c.rp != "" {
		q.Set("rp", c.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/write?"+q.Encode(), bytes.NewReader(lines))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("write: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Close releases the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
