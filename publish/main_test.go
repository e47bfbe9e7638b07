package publish

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: publishers, their connections, servers.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
