package rtmpclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// Connect with a custom property and a user argument, call a procedure, then play a stream
// and read a few video messages.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := rtmpclient.Dial(ctx, "rtmp://127.0.0.1:1935/app/scene", rtmpclient.Options{
		ConnectProperties: amf0.Object{{Key: "token", Value: "secret"}},
		ConnectArgs:       []any{"viewer-1"},
	})
	var se *rtmpclient.StatusError
	if errors.As(err, &se) && se.Code == "NetConnection.Connect.Rejected" {
		log.Fatalf("refused: %s", se.Description)
	} else if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// NetConnection.call("set_camera", responder, 1.5, 0, 3)
	res, err := c.Call(ctx, "set_camera", nil, 1.5, 0, 3)
	var ce *rtmpclient.CallError
	if errors.As(err, &ce) {
		log.Printf("set_camera failed: %s %s", ce.Code, ce.Description)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println("set_camera returned", res)

	id, err := c.CreateStream(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Play(ctx, id, c.URL().Stream); err != nil {
		log.Fatal(err)
	}
	for range 30 {
		v, err := c.ReadVideo(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if v.Codec == rtmpclient.CodecAVC && v.AVCPacketType == rtmpclient.AVCNALU {
			fmt.Println(v.Timestamp, v.Keyframe, len(v.Payload))
		}
	}
	if err := c.Pause(ctx, id, true, 0); err != nil {
		log.Fatal(err)
	}
	if err := c.DeleteStream(id); err != nil {
		log.Fatal(err)
	}
}
