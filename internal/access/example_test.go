package access_test

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/rendercast/rendercast/internal/access"
)

// ExampleSecret checks a WHEP request's viewing token and control token.
func ExampleSecret() {
	viewing, control := access.NewSecret("watch"), access.NewSecret("steer")
	r := httptest.NewRequest("POST", "/whep/demo?session=show&control_token=steer", nil)
	r.Header.Set("Authorization", "Bearer watch")
	fmt.Println("may watch:", viewing.Match(access.FromRequest(r, access.KeyToken, "")...))
	fmt.Println("may steer:", control.Match(access.FromRequest(r, access.KeyControlToken, access.HeaderControlToken)...))
	fmt.Println("no token set:", access.Secret{}.Match())
	// Output:
	// may watch: true
	// may steer: true
	// no token set: true
}

// ExampleFromRTMPConnect finds the tokens of an RTMP connect command.
func ExampleFromRTMPConnect() {
	tcURL := "rtmp://127.0.0.1:1935/live?session=show&control_token=steer"
	props := map[string]string{"token": "watch"}
	prop := func(name string) (string, bool) { v, ok := props[name]; return v, ok }
	fmt.Println(access.FromRTMPConnect(access.KeyToken, tcURL, "live", prop, nil))
	fmt.Println(access.FromRTMPConnect(access.KeyControlToken, tcURL, "live", prop, nil))
	// Output:
	// [watch]
	// [steer]
}

// ExampleAdmission admits viewers of both transports under one -max-viewers.
func ExampleAdmission() {
	a := access.NewAdmission(access.Limits{Viewers: 1}, func(kind, reason string) {
		fmt.Println("refused", kind+":", reason)
	})
	release, err := a.Reserve(access.Viewer) // an RTMP play
	fmt.Println(err)
	_, err = a.Reserve(access.Viewer) // a WHEP offer
	fmt.Println(errors.Is(err, access.ErrFull))
	release()
	release() // again: nothing more
	fmt.Printf("%+v\n", a.Counts())
	// Output:
	// <nil>
	// refused viewer: server full: 1 viewers playing, the most -max-viewers allows
	// true
	// {Conns:0 Viewers:0 Sessions:0 Refused:{Conns:0 Viewers:1 Sessions:0}}
}

// ExampleLimiter caps one client's calls.
func ExampleLimiter() {
	l := access.NewLimiter(3, nil) // 3 calls a second, bursts of 3
	allowed := 0
	for range 10 {
		if l.Allow() {
			allowed++
		}
	}
	fmt.Println(allowed, "of 10 calls at once")
	// Output: 3 of 10 calls at once
}
