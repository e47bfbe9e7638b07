package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// newWebRTCAPI is a pion API for a loopback-only H.264 receiver, as a browser on this
// machine would offer (Constrained Baseline, packetization mode 1).
func newWebRTCAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack", Parameter: "pli"}}},
		PayloadType: 102,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// newOffer makes a peer connection with a receive-only video transceiver and returns it
// with its offer, candidates gathered (WHEP takes no trickle).
func newOffer(api *webrtc.API) (*webrtc.PeerConnection, string, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		pc.Close()
		return nil, "", err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		pc.Close()
		return nil, "", errors.New("ICE gathering did not complete within 10 s")
	}
	return pc, pc.LocalDescription().SDP, nil
}

// attackOffer is an offer for the WHEP flood: a real one, whose peer connection is closed
// at once, so that nothing ever answers the streamer's connectivity checks.
func attackOffer() (string, error) {
	api, err := newWebRTCAPI()
	if err != nil {
		return "", err
	}
	pc, sdp, err := newOffer(api)
	if err != nil {
		return "", err
	}
	pc.Close()
	return sdp, nil
}

// whepViewer plays url over WebRTC until ctx ends, reconnecting after a failure (counted).
// Frames are counted in ld.frames[i] (RTP packets with the marker bit: one an access
// unit).
func (ld *load) whepViewer(ctx context.Context, url string, i int, log *slog.Logger) {
	for ctx.Err() == nil {
		err := ld.whepWatch(ctx, url, i)
		if ctx.Err() != nil {
			return
		}
		ld.viewerErrors.Add(1)
		log.Warn("WebRTC viewer lost its session", "viewer", i, "err", err)
		sleep(ctx, time.Second)
	}
}

func (ld *load) whepWatch(ctx context.Context, url string, i int) error {
	api, err := newWebRTCAPI()
	if err != nil {
		return err
	}
	pc, offer, err := newOffer(api)
	if err != nil {
		return err
	}
	defer pc.Close()
	ended := make(chan error, 2)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed || s == webrtc.PeerConnectionStateClosed || s == webrtc.PeerConnectionStateDisconnected {
			select {
			case ended <- fmt.Errorf("peer connection %s", s):
			default:
			}
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				select {
				case ended <- fmt.Errorf("reading RTP: %w", err):
				default:
				}
				return
			}
			if p.Marker {
				ld.frames[i].Add(1)
			}
		}
	})
	client := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("WHEP offer: %w", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("WHEP offer: %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		defer func() {
			del, _ := http.NewRequest(http.MethodDelete, strings.TrimSuffix(url, req.URL.Path)+loc, nil)
			if resp, err := client.Do(del); err == nil {
				resp.Body.Close()
			}
		}()
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		return fmt.Errorf("WHEP answer: %w", err)
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-ended:
		return err
	}
}
