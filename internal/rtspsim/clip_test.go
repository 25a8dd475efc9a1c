package rtspsim

import (
	"bytes"
	"testing"
)

func TestParseClipGroupsAccessUnits(t *testing.T) {
	sc := []byte{0, 0, 0, 1}
	unit := func(b ...byte) []byte { return append(append([]byte{}, sc...), b...) }
	var data []byte
	// AUD, SPS, PPS, IDR slice (first_mb 0), second IDR slice (first_mb != 0),
	// then a P slice starting a new picture, then a P slice with a 3-byte start code.
	data = append(data, unit(0x09, 0xf0)...)
	data = append(data, unit(0x67, 0x42, 0x00, 0x1e)...)
	data = append(data, unit(0x68, 0xce)...)
	data = append(data, unit(0x65, 0x88, 0x01)...)
	data = append(data, unit(0x65, 0x40, 0x02)...)
	data = append(data, unit(0x41, 0x9a, 0x03)...)
	data = append(data, 0, 0, 1, 0x41, 0x9a, 0x04, 0, 0)
	c, err := ParseClip(data, H264, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AUs) != 3 {
		t.Fatalf("%d access units, want 3", len(c.AUs))
	}
	if len(c.AUs[0]) != 4 || !isKey(H264, c.AUs[0]) || isKey(H264, c.AUs[1]) {
		t.Fatalf("first AU %x", c.AUs[0])
	}
	if !bytes.Equal(c.AUs[2][0], []byte{0x41, 0x9a, 0x04}) {
		t.Fatalf("trailing zeros kept: %x", c.AUs[2][0])
	}
	if !bytes.Equal(c.SPS, []byte{0x67, 0x42, 0x00, 0x1e}) || !bytes.Equal(c.PPS, []byte{0x68, 0xce}) {
		t.Fatalf("params %x %x", c.SPS, c.PPS)
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, unit(0x41, 0x9a)} {
		if _, err := ParseClip(bad, H264, 10); err == nil {
			t.Errorf("ParseClip(%x) accepted", bad)
		}
	}
	if _, err := ParseClip(data, "mjpeg", 10); err == nil {
		t.Error("mjpeg accepted")
	}
	if _, err := ParseClip(data, H264, 0); err == nil {
		t.Error("fps 0 accepted")
	}
}

// TestParseClipParameterSetsLead: parameter sets repeated before a later
// keyframe (as x264 and cameras send them) travel with that keyframe, not
// at the end of the picture before it.
func TestParseClipParameterSetsLead(t *testing.T) {
	var data []byte
	for _, u := range [][]byte{{0x67, 0x42, 0x00, 0x1e}, {0x68, 0xce}, {0x65, 0x88, 0x01}, {0x41, 0x9a, 0x02},
		{0x67, 0x42, 0x00, 0x1e}, {0x68, 0xce}, {0x65, 0x88, 0x03}} {
		data = append(append(data, 0, 0, 0, 1), u...)
	}
	c, err := ParseClip(data, H264, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AUs) != 3 || len(c.AUs[1]) != 1 || len(c.AUs[2]) != 3 || !isKey(H264, c.AUs[2]) || c.AUs[2][0][0] != 0x67 {
		t.Fatalf("access units %x, want [SPS PPS IDR] [P] [SPS PPS IDR]", c.AUs)
	}
}

// FuzzParseClip: clip files are outside bytes; parsing never panics and
// every unit it returns is non-empty.
func FuzzParseClip(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 1, 0x65, 0x88}, true)
	f.Add([]byte{0, 0, 0, 1, 0x40, 0x01, 0, 0, 1, 0x42, 0x01, 0, 0, 1, 0x44, 0x01, 0, 0, 1, 0x26, 0x01, 0x80}, false)
	f.Add([]byte{0, 0, 1, 0, 0, 1}, true)
	f.Fuzz(func(t *testing.T, data []byte, h264 bool) {
		codec := H265
		if h264 {
			codec = H264
		}
		c, err := ParseClip(data, codec, 25)
		if err != nil {
			return
		}
		for _, au := range c.AUs {
			for _, n := range au {
				if len(n) == 0 {
					t.Fatal("empty NAL unit")
				}
			}
		}
	})
}
