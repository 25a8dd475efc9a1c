package testenv

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// mqttTestClient speaks just enough MQTT 3.1.1 to prove the broker config
// keeps persistent sessions and their queued QoS 1 messages across a
// restart; the project's real clients use paho.
type mqttTestClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialMQTT(t *testing.T, addr, clientID string, clean bool) (*mqttTestClient, bool) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	c := &mqttTestClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.write(mqttConnect(clientID, clean))
	typ, body := c.read()
	if typ != 0x20 || len(body) != 2 || body[1] != 0 {
		t.Fatalf("CONNACK: type %#x body % x", typ, body)
	}
	return c, body[0]&1 == 1
}

func (c *mqttTestClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the type byte and body of the next packet.
func (c *mqttTestClient) read() (byte, []byte) {
	c.t.Helper()
	typ, err := c.r.ReadByte()
	if err != nil {
		c.t.Fatal(err)
	}
	n, mult := 0, 1
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			c.t.Fatal(err)
		}
		n += int(b&0x7f) * mult
		mult *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatal(err)
	}
	return typ, body
}

func packet(typ byte, body []byte) []byte {
	if len(body) > 127 {
		panic("test packets are small")
	}
	return append([]byte{typ, byte(len(body))}, body...)
}

func mqttString(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func (c *mqttTestClient) subscribeQoS1(topic string) {
	c.t.Helper()
	body := append([]byte{0, 1}, mqttString(topic)...)
	c.write(packet(0x82, append(body, 1)))
	typ, ack := c.read()
	if typ != 0x90 || len(ack) != 3 || ack[2] != 1 {
		c.t.Fatalf("SUBACK: type %#x body % x", typ, ack)
	}
}

func (c *mqttTestClient) publishQoS1(id uint16, topic, payload string) {
	c.t.Helper()
	body := binary.BigEndian.AppendUint16(mqttString(topic), id)
	c.write(packet(0x32, append(body, payload...)))
	typ, ack := c.read()
	if typ != 0x40 || len(ack) != 2 || binary.BigEndian.Uint16(ack) != id {
		c.t.Fatalf("PUBACK: type %#x body % x", typ, ack)
	}
}

// receive reads one QoS 1 PUBLISH, acknowledges it and returns its payload.
func (c *mqttTestClient) receive(topic string) string {
	c.t.Helper()
	typ, body := c.read()
	if typ&0xf0 != 0x30 || typ&0x06 != 0x02 {
		c.t.Fatalf("expected a QoS 1 PUBLISH, got type %#x", typ)
	}
	n := int(binary.BigEndian.Uint16(body))
	if got := string(body[2 : 2+n]); got != topic {
		c.t.Fatalf("PUBLISH on %q, want %q", got, topic)
	}
	id := body[2+n : 4+n]
	c.write(packet(0x40, id))
	return string(body[4+n:])
}

func (c *mqttTestClient) disconnect() {
	c.t.Helper()
	c.write([]byte{0xe0, 0})
	c.conn.Close()
}

// TestMosquittoPersistentSessionSurvivesRestart is the property the whole
// harness exists for: a consumer with a persistent session that is away
// while messages arrive, across broker restarts, receives all of them.
func TestMosquittoPersistentSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	m := StartMosquitto(t)
	const topic = "pscm/v1/anlao/rating"

	sub, present := dialMQTT(t, m.Addr(), "collector-1", false)
	if present {
		t.Fatal("new broker reports an existing session")
	}
	sub.subscribeQoS1(topic)
	sub.disconnect()

	m.Stop(t)
	m.Start(t) // the session itself must survive

	pub, _ := dialMQTT(t, m.Addr(), "kiosk-k03", true)
	const n = 50 // above Mosquitto's default in-flight window of 20
	for k := range n {
		pub.publishQoS1(uint16(k+1), topic, fmt.Sprintf(`{"n":%d}`, k))
	}
	pub.disconnect()

	m.Stop(t)
	m.Start(t) // and so must the messages queued for it

	sub, present = dialMQTT(t, m.Addr(), "collector-1", false)
	if !present {
		t.Fatal("persistent session lost across restarts")
	}
	for k := range n {
		if got, want := sub.receive(topic), fmt.Sprintf(`{"n":%d}`, k); got != want {
			t.Fatalf("message %d: %s, want %s", k, got, want)
		}
	}
	sub.disconnect()
}
