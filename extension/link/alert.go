package link

import (
	"errors"
	"reflect"

	"github.com/pion/dtls/v2/pkg/protocol/alert"
)

// AlertOf finds the TLS alert inside a pion error. pion wraps alerts in an
// unexported type that embeds *alert.Alert; the embedded field's name is
// exported, so reflection can read it.
func AlertOf(err error) *alert.Alert {
	var ae interface{ IsFatalOrCloseNotify() bool }
	if !errors.As(err, &ae) {
		return nil
	}
	v := reflect.ValueOf(ae)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("Alert")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	a, _ := f.Interface().(*alert.Alert)
	return a
}
