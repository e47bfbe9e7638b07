package linklab_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rendercast/rendercast/internal/linklab"
)

// A server behind a 2 Mbit/s link and an unthrottled one: run a program in the server's
// namespace, a client in a viewer's, and remove everything after. (In a test, New builds
// the lab and removes it in the test's cleanup.)
func Example() {
	lab, err := linklab.Build(linklab.Config{Links: []linklab.LinkConfig{{Name: "2M", RateKbit: 2000}, {Name: "free"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer lab.Close()
	l := lab.Link("2M")
	server := lab.Command(context.Background(), lab.Server, "nc", "-l", "-p", "9000")
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	client := lab.Command(context.Background(), l.Namespace, "nc", l.ServerAddr.String(), "9000")
	fmt.Println(client.Args)
}
