package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKioskHTTPS: the kiosks' port with a server certificate from
// scripts/certs.sh, as the tablets reach it (issue 13 item 6). The
// certificate is for serverAuth and names the address; the CA is
// constrained to the deployment's names and its key lies apart from the
// leaf keys; a tablet trusting only ca.pem presses over HTTPS, and plain
// HTTP on that port gets nothing. (Before, certs.sh's agent certificate was
// clientAuth-only, which no browser takes for HTTPS, and the agent served
// plain HTTP on 0.0.0.0 by default: see agent/config's TestListeners.)
func TestKioskHTTPS(t *testing.T) {
	w := newWorld(t)
	pki := filepath.Join(w.dir, "pki-web")
	certs := func(args ...string) error {
		out, err := exec.Command("../scripts/certs.sh", append([]string{pki}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	}
	if err := certs("server", "anlao-edge-1-web", "127.0.0.1", "anlao-edge-1.lan"); err != nil {
		t.Fatal(err)
	}

	ca := readCert(t, filepath.Join(pki, "ca.pem"))
	leaf := readCert(t, filepath.Join(pki, "anlao-edge-1-web.pem"))
	if len(ca.PermittedIPRanges) == 0 || len(ca.PermittedDNSDomains) == 0 || !ca.PermittedDNSDomainsCritical {
		t.Errorf("the CA has no name constraints: IPs %v, DNS %v", ca.PermittedIPRanges, ca.PermittedDNSDomains)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("server certificate's extended key usage %v, want serverAuth only", leaf.ExtKeyUsage)
	}
	if len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "anlao-edge-1.lan" {
		t.Errorf("server certificate names %v %v, want 127.0.0.1 and anlao-edge-1.lan", leaf.IPAddresses, leaf.DNSNames)
	}
	// The CA key is not among the leaves; its directory is the owner's only.
	if _, err := os.Stat(filepath.Join(pki, "ca.key")); err == nil {
		t.Error("ca.key lies beside the leaf keys")
	}
	if fi, err := os.Stat(filepath.Join(pki, "ca-key", "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(pki, "ca-key")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("CA key directory: %v %v", fi, err)
	}
	// A name outside the constraints is never issued (a client would
	// refuse it anyway), and leaves nothing behind.
	if err := certs("server", "stranger", "bank.example.com"); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("a certificate for bank.example.com: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pki, "stranger.key")); err == nil {
		t.Error("the refused certificate's key was left")
	}
	// A client certificate from the same script is not an HTTPS server's.
	if err := certs("client", "anlao-edge-1"); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := readCert(t, filepath.Join(pki, "anlao-edge-1.pem")).Verify(x509.VerifyOptions{Roots: roots}); err == nil {
		t.Error("a clientAuth certificate verifies as a server's")
	}

	a := w.startAgent(t, agentOpts{httpTLS: fmt.Sprintf("{cert_file: %s, key_file: %s}",
		filepath.Join(pki, "anlao-edge-1-web.pem"), filepath.Join(pki, "anlao-edge-1-web.key"))})
	tablet := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	res, err := tablet.Get("https://" + a.addr + "/kiosk/k01/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("kiosk page over HTTPS: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, "https://"+a.addr+"/kiosk/k01/press",
		strings.NewReader(`{"level":"satisfied","press_id":"press-https-0001"}`))
	req.Header.Set("Authorization", "Bearer "+tokenPrefix+"k01")
	req.Header.Set("Content-Type", "application/json")
	if res, err = tablet.Do(req); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("press over HTTPS: %d", res.StatusCode)
	}
	// Plain HTTP to the same port carries no token anywhere: Go's server
	// answers 400 before any handler.
	if res, err = http.Post("http://"+a.addr+"/kiosk/k01/press", "application/json", strings.NewReader(`{}`)); err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the HTTPS port: %d", res.StatusCode)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
