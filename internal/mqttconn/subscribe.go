package mqttconn

import (
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// SubscribeResult waits up to timeout for the SUBACK of a Subscribe or
// SubscribeMultiple token and reports what kept the subscription from
// being granted: no answer, an error, or a filter the broker refused
// (return code 0x80, usually its ACL). paho reports a refusal only in the
// token's result, so a caller that checks Error alone believes a refused
// subscription works, and receives nothing.
func SubscribeResult(t mqtt.Token, timeout time.Duration) error {
	if !t.WaitTimeout(timeout) {
		return fmt.Errorf("no SUBACK within %v", timeout)
	}
	if err := t.Error(); err != nil {
		return err
	}
	if st, ok := t.(*mqtt.SubscribeToken); ok {
		for filter, q := range st.Result() {
			if q == 0x80 {
				return fmt.Errorf("broker refused filter %q (ACL?)", filter)
			}
		}
	}
	return nil
}
