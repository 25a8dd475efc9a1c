package kiosk

import (
	"strings"
	"testing"
	"time"

	"github.com/pscm/pscm/internal/config"
	"github.com/pscm/pscm/internal/schema"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" means valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"three buttons", func(c *Config) { c.Buttons = c.Buttons[1:] }, ""},
		{"no follow-up", func(c *Config) { c.AskReasonsFor = nil }, ""},
		{"no follow-up, no reasons", func(c *Config) { c.AskReasonsFor, c.Reasons = []schema.Level{}, nil }, ""},
		{"no emoji", func(c *Config) { c.Buttons[0].Emoji = "" }, ""},
		{"upper-case colour", func(c *Config) { c.Buttons[0].Color = "#1B7D3A" }, ""},
		{"two buttons", func(c *Config) { c.Buttons = c.Buttons[:2] }, "buttons: 2 given, want 3 or 4"},
		{"five buttons", func(c *Config) { c.Buttons = append(c.Buttons, c.Buttons[0]) }, "buttons: 5 given, want 3 or 4"},
		{"no buttons", func(c *Config) { c.Buttons = nil }, "buttons: 0 given"},
		{"duplicate level", func(c *Config) { c.Buttons[2].Level = schema.LevelSatisfied },
			"buttons[2].level: satisfied is already the level of buttons[1]"},
		{"unknown level", func(c *Config) { c.Buttons[3].Level = "angry" },
			`buttons[3].level: "angry" is not one of very_satisfied, satisfied, neutral, dissatisfied`},
		{"colour name", func(c *Config) { c.Buttons[1].Color = "green" }, `buttons[1].color: "green" is not #rrggbb`},
		{"short colour", func(c *Config) { c.Buttons[1].Color = "#8bc" }, `buttons[1].color: "#8bc" is not #rrggbb`},
		{"bad hex", func(c *Config) { c.Buttons[1].Color = "#8bc34g" }, `buttons[1].color: "#8bc34g" is not #rrggbb`},
		{"signed hex", func(c *Config) { c.Buttons[1].Color = "#+1+2+3" }, `buttons[1].color: "#+1+2+3" is not #rrggbb`},
		{"no colour", func(c *Config) { c.Buttons[1].Color = "" }, `buttons[1].color: "" is not #rrggbb`},
		{"no Vietnamese label", func(c *Config) { c.Buttons[0].LabelVI = "" }, "buttons[0].label_vi: required"},
		{"no English label", func(c *Config) { c.Buttons[0].LabelEN = "" }, "buttons[0].label_en: required"},
		{"label with newline", func(c *Config) { c.Buttons[0].LabelVI = "Rất\nhài lòng" }, "buttons[0].label_vi: \"Rất\\nhài lòng\" contains control character U+000A"},
		{"label too long", func(c *Config) { c.Buttons[0].LabelEN = strings.Repeat("a", 65) }, "buttons[0].label_en: 65 bytes, more than 64"},
		{"emoji too long", func(c *Config) { c.Buttons[0].Emoji = strings.Repeat("😄", 9) }, "buttons[0].emoji: 36 bytes, more than 32"},
		{"reason id with accents", func(c *Config) { c.Reasons[1].ID = "thái-độ" }, `reasons[1].id: "thái-độ" does not match`},
		{"reason id empty", func(c *Config) { c.Reasons[1].ID = "" }, `reasons[1].id: "" does not match`},
		{"duplicate reason", func(c *Config) { c.Reasons[3].ID = "cho-lau" }, "reasons[3].id: cho-lau is already the id of reasons[0]"},
		{"reason without label", func(c *Config) { c.Reasons[2].LabelEN = "" }, "reasons[2].label_en: required"},
		{"nine reasons", func(c *Config) {
			for i := 0; len(c.Reasons) < 9; i++ {
				c.Reasons = append(c.Reasons, Reason{ID: "r" + string(rune('a'+i)), LabelVI: "x", LabelEN: "x"})
			}
		}, "reasons: 9 given, at most 8"},
		{"ask for a level without a button", func(c *Config) { c.Buttons = c.Buttons[:3] },
			"ask_reasons_for[0]: no button has the level dissatisfied"},
		{"ask twice", func(c *Config) { c.AskReasonsFor = append(c.AskReasonsFor, schema.LevelDissatisfied) },
			"ask_reasons_for[1]: dissatisfied is listed twice"},
		{"ask for an unknown level", func(c *Config) { c.AskReasonsFor = []schema.Level{"bad"} },
			`ask_reasons_for[0]: "bad" is not one of`},
		{"ask without reasons", func(c *Config) { c.Reasons = nil }, "ask_reasons_for: set, but reasons is empty"},
		{"reason timeout too short", func(c *Config) { c.ReasonTimeout = time.Second }, "reason_timeout: 1s is outside 3s..5m0s"},
		{"reason timeout unset", func(c *Config) { c.ReasonTimeout = 0 }, "reason_timeout: 0s is outside"},
		{"thank-you unset", func(c *Config) { c.ThankYou = 0 }, "thank_you: 0s is outside 1s..1m0s"},
		{"thank-you too long", func(c *Config) { c.ThankYou = 2 * time.Minute }, "thank_you: 2m0s is outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDefaultsAreFresh: a caller changing its Defaults must not change the
// next caller's.
func TestDefaultsAreFresh(t *testing.T) {
	a := Defaults()
	a.Buttons[0].LabelVI = "changed"
	a.Reasons[0].ID = "changed"
	a.AskReasonsFor[0] = schema.LevelNeutral
	b := Defaults()
	if b.Buttons[0].LabelVI != "Rất hài lòng" || b.Reasons[0].ID != "cho-lau" || b.AskReasonsFor[0] != schema.LevelDissatisfied {
		t.Errorf("Defaults shares state: %+v", b)
	}
}

// TestConfigYAML decodes the section the way the agent does: defaults first,
// then the file, strictly.
func TestConfigYAML(t *testing.T) {
	c := Defaults()
	err := config.Decode([]byte(`
buttons:
  - {level: satisfied, label_vi: Hài lòng, label_en: Satisfied, emoji: "🙂", color: "#1b7d3a"}
  - {level: neutral, label_vi: Bình thường, label_en: Neutral, emoji: "😐", color: "#f9c74f"}
  - {level: dissatisfied, label_vi: Không hài lòng, label_en: Dissatisfied, emoji: "🙁", color: "#c62828"}
ask_reasons_for: []
reason_timeout: 30s
thank_you: 2500ms
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Buttons) != 3 || len(c.AskReasonsFor) != 0 || len(c.Reasons) != 4 || c.ReasonTimeout != 30*time.Second || c.ThankYou != 2500*time.Millisecond {
		t.Errorf("decoded %+v", c)
	}

	c = Defaults()
	if err := config.Decode([]byte("thankyou: 3s\n"), &c); err == nil || !strings.Contains(err.Error(), "thankyou") {
		t.Errorf("unknown key: %v", err)
	}
	c = Defaults()
	if err := config.Decode([]byte("buttons:\n  - {level: satisfied, label_vi: a, label_en: b, color: red}\n"), &c); err == nil ||
		!strings.Contains(err.Error(), "buttons: 1 given") {
		t.Errorf("one button: %v", err)
	}
}

// TestTextColorContrast: whatever colour an installer picks, the label
// reaches WCAG AA (4.5:1) against it.
func TestTextColorContrast(t *testing.T) {
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 15 {
			for b := 0; b < 256; b += 15 {
				bg := rgb{uint8(r), uint8(g), uint8(b)}
				fg, err := parseColor(textColor(bg))
				if err != nil {
					t.Fatal(err)
				}
				if c := contrast(bg, fg); c < 4.5 {
					t.Fatalf("%v: text %v has contrast %.2f", bg, fg, c)
				}
			}
		}
	}
	for _, b := range Defaults().Buttons {
		bg, _ := parseColor(b.Color)
		fg, _ := parseColor(textColor(bg))
		t.Logf("%-14s %s on %s: %.1f:1", b.Level, textColor(bg), b.Color, contrast(bg, fg))
	}
	if got := contrast(rgb{0, 0, 0}, rgb{255, 255, 255}); got < 20.99 || got > 21.01 {
		t.Errorf("black on white = %.3f, want 21", got)
	}
}
