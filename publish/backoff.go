package publish

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before retry n (1 for the first): a random duration between half
// and all of min(hi, lo·2^(n-1)). The randomness spreads the retries of many publishers
// that lost the same server at the same moment.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(d-half+1)
}
