package kiosk

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pscm/pscm/internal/schema"
	"github.com/pscm/pscm/internal/textclip"
)

// Button is one rating button of the page, in the order the page shows them.
type Button struct {
	Level   schema.Level `yaml:"level"`
	LabelVI string       `yaml:"label_vi"`
	LabelEN string       `yaml:"label_en"`
	Emoji   string       `yaml:"emoji"`
	Color   string       `yaml:"color"` // background, "#rrggbb"; the text colour is chosen for contrast
}

// Reason is a follow-up answer a citizen may give after a rating, such as
// "waited too long". Its ID is what the rating event carries.
type Reason struct {
	ID      string `yaml:"id"` // matches schema.ValidID, e.g. cho-lau
	LabelVI string `yaml:"label_vi"`
	LabelEN string `yaml:"label_en"`
}

// Config is the `kiosk:` section of the agent's configuration: what every
// kiosk page of the center shows. Which buttons exist is configuration, not
// code (docs/design.md), because centers differ in how many levels they ask for.
type Config struct {
	Buttons       []Button       `yaml:"buttons"`         // 3 or 4
	Reasons       []Reason       `yaml:"reasons"`         // offered after a rating listed in AskReasonsFor
	AskReasonsFor []schema.Level `yaml:"ask_reasons_for"` // empty: never ask
	ReasonTimeout time.Duration  `yaml:"reason_timeout"`  // then back to idle; the rating is already recorded
	ThankYou      time.Duration  `yaml:"thank_you"`       // how long the thank-you screen stays
}

// Limits of Config. The screen of a 10-inch tablet read from a metre away
// holds no more than 4 rating buttons and 8 reasons; labels longer than the
// limits would not fit a button either.
const (
	minButtons       = 3
	maxButtons       = 4
	maxReasons       = 8
	maxLabelLen      = 64 // bytes
	maxEmojiLen      = 32 // bytes: a ZWJ sequence with skin tone is about 25
	minReasonTimeout = 3 * time.Second
	maxReasonTimeout = 5 * time.Minute
	minThankYou      = time.Second
	maxThankYou      = time.Minute
)

// Defaults returns the four-level scale of the plan's satisfaction survey
// with its usual follow-up reasons, asked only after "dissatisfied": the
// reasons are what a manager acts on, and asking a satisfied citizen why
// only slows the queue down.
func Defaults() Config {
	return Config{
		Buttons: []Button{
			{Level: schema.LevelVerySatisfied, LabelVI: "Rất hài lòng", LabelEN: "Very satisfied", Emoji: "😄", Color: "#1b7d3a"},
			{Level: schema.LevelSatisfied, LabelVI: "Hài lòng", LabelEN: "Satisfied", Emoji: "🙂", Color: "#8bc34a"},
			{Level: schema.LevelNeutral, LabelVI: "Bình thường", LabelEN: "Neutral", Emoji: "😐", Color: "#f9c74f"},
			{Level: schema.LevelDissatisfied, LabelVI: "Không hài lòng", LabelEN: "Dissatisfied", Emoji: "🙁", Color: "#c62828"},
		},
		Reasons: []Reason{
			{ID: "cho-lau", LabelVI: "Chờ lâu", LabelEN: "Long wait"},
			{ID: "thai-do", LabelVI: "Thái độ", LabelEN: "Attitude"},
			{ID: "huong-dan", LabelVI: "Hướng dẫn chưa rõ", LabelEN: "Unclear guidance"},
			{ID: "thu-tuc", LabelVI: "Thủ tục phức tạp", LabelEN: "Complicated procedure"},
		},
		AskReasonsFor: []schema.Level{schema.LevelDissatisfied},
		ReasonTimeout: 20 * time.Second,
		ThankYou:      4 * time.Second,
	}
}

// Validate reports the first rule c breaks, naming the field by its YAML
// path (buttons[2].color) so an installer can fix the file without reading
// code.
func (c Config) Validate() error {
	if n := len(c.Buttons); n < minButtons || n > maxButtons {
		return fmt.Errorf("buttons: %d given, want %d or %d", n, minButtons, maxButtons)
	}
	seen := make(map[schema.Level]int, len(c.Buttons))
	for i, b := range c.Buttons {
		field := "buttons[" + strconv.Itoa(i) + "]"
		if !b.Level.Valid() {
			return fmt.Errorf("%s.level: %s is not one of very_satisfied, satisfied, neutral, dissatisfied", field, textclip.Quote(string(b.Level), maxQuoted))
		}
		if j, dup := seen[b.Level]; dup {
			return fmt.Errorf("%s.level: %s is already the level of buttons[%d]", field, b.Level, j)
		}
		seen[b.Level] = i
		if err := checkLabel(field+".label_vi", b.LabelVI, maxLabelLen); err != nil {
			return err
		}
		if err := checkLabel(field+".label_en", b.LabelEN, maxLabelLen); err != nil {
			return err
		}
		if b.Emoji != "" {
			if err := checkLabel(field+".emoji", b.Emoji, maxEmojiLen); err != nil {
				return err
			}
		}
		if _, err := parseColor(b.Color); err != nil {
			return fmt.Errorf("%s.color: %w", field, err)
		}
	}

	if len(c.Reasons) > maxReasons {
		return fmt.Errorf("reasons: %d given, at most %d fit the screen", len(c.Reasons), maxReasons)
	}
	ids := make(map[string]int, len(c.Reasons))
	for i, r := range c.Reasons {
		field := "reasons[" + strconv.Itoa(i) + "]"
		if !schema.ValidID(r.ID) {
			return fmt.Errorf("%s.id: %s does not match %s", field, textclip.Quote(r.ID, maxQuoted), schema.IDPattern)
		}
		if j, dup := ids[r.ID]; dup {
			return fmt.Errorf("%s.id: %s is already the id of reasons[%d]", field, r.ID, j)
		}
		ids[r.ID] = i
		if err := checkLabel(field+".label_vi", r.LabelVI, maxLabelLen); err != nil {
			return err
		}
		if err := checkLabel(field+".label_en", r.LabelEN, maxLabelLen); err != nil {
			return err
		}
	}

	asked := make(map[schema.Level]bool, len(c.AskReasonsFor))
	for i, l := range c.AskReasonsFor {
		field := "ask_reasons_for[" + strconv.Itoa(i) + "]"
		if !l.Valid() {
			return fmt.Errorf("%s: %s is not one of very_satisfied, satisfied, neutral, dissatisfied", field, textclip.Quote(string(l), maxQuoted))
		}
		if _, ok := seen[l]; !ok {
			return fmt.Errorf("%s: no button has the level %s", field, l)
		}
		if asked[l] {
			return fmt.Errorf("%s: %s is listed twice", field, l)
		}
		asked[l] = true
	}
	if len(c.AskReasonsFor) > 0 && len(c.Reasons) == 0 {
		return errors.New("ask_reasons_for: set, but reasons is empty: add reasons or set ask_reasons_for: []")
	}

	if c.ReasonTimeout < minReasonTimeout || c.ReasonTimeout > maxReasonTimeout {
		return fmt.Errorf("reason_timeout: %v is outside %v..%v", c.ReasonTimeout, minReasonTimeout, maxReasonTimeout)
	}
	if c.ThankYou < minThankYou || c.ThankYou > maxThankYou {
		return fmt.Errorf("thank_you: %v is outside %v..%v", c.ThankYou, minThankYou, maxThankYou)
	}
	return nil
}

// checkLabel requires text a citizen will read: present, short enough for a
// button, and without control characters that would break the layout.
func checkLabel(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s: required", field)
	}
	if len(s) > max {
		return fmt.Errorf("%s: %d bytes, more than %d", field, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return fmt.Errorf("%s: %s contains control character %U", field, textclip.Quote(s, maxQuoted), r)
		}
	}
	return nil
}

// rgb is a colour from the config, each channel 0..255.
type rgb [3]uint8

// parseColor accepts exactly "#rrggbb": the one form every browser and every
// installer's colour picker agrees on.
func parseColor(s string) (rgb, error) {
	var c rgb
	if len(s) != 7 || s[0] != '#' {
		return c, fmt.Errorf("%s is not #rrggbb", textclip.Quote(s, maxQuoted))
	}
	for i := range c {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, fmt.Errorf("%s is not #rrggbb", textclip.Quote(s, maxQuoted))
		}
		c[i] = uint8(v)
	}
	return c, nil
}

// luminance is the WCAG 2 relative luminance of c.
func (c rgb) luminance() float64 {
	var l [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.03928 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the WCAG 2 contrast ratio of two colours, 1 to 21.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// textColor picks black or white text for a button of colour bg, whichever
// contrasts more. One of the two always reaches at least 4.58:1, above the
// 4.5:1 WCAG AA asks for normal text, so any colour an installer picks gives
// readable labels.
func textColor(bg rgb) string {
	if contrast(bg, rgb{255, 255, 255}) >= contrast(bg, rgb{0, 0, 0}) {
		return "#ffffff"
	}
	return "#000000"
}

// maxQuoted is how many bytes of an offending value an error message or a
// log line shows, so hostile input is never replayed in full.
const maxQuoted = 40
