package whep

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// callRequest is one data-channel call: {"id":1,"name":"camera.orbit","args":{"dx":10}}.
type callRequest struct {
	ID   json.RawMessage `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// callResponse answers a call: {"id":1,"ok":true,"result":...} or
// {"id":1,"ok":false,"error":"..."}. The id is echoed as sent (number or string).
type callResponse struct {
	ID     json.RawMessage `json:"id"`
	OK     bool            `json:"ok"`
	Result any             `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// maxCallSize bounds one call message.
const maxCallSize = 64 << 10

// parseCall decodes a call message. On error the returned id is whatever could be read
// (null otherwise), so the client can still match the error to its call.
func parseCall(msg []byte) (id json.RawMessage, name string, args map[string]any, err error) {
	if len(msg) > maxCallSize {
		return nil, "", nil, fmt.Errorf("call of %d bytes: the limit is %d", len(msg), maxCallSize)
	}
	var req callRequest
	if err := json.Unmarshal(msg, &req); err != nil {
		return nil, "", nil, fmt.Errorf("call is not a JSON object {id, name, args}: %v", err)
	}
	if req.Name == "" {
		return req.ID, "", nil, fmt.Errorf("call without a name")
	}
	args = map[string]any{}
	if a := bytes.TrimSpace(req.Args); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		if err := json.Unmarshal(a, &args); err != nil {
			return req.ID, req.Name, nil, fmt.Errorf("%s: args must be a JSON object of named arguments", req.Name)
		}
	}
	return req.ID, req.Name, args, nil
}

// encodeResponse builds the answer to a call. A result that cannot be encoded becomes an
// error answer.
func encodeResponse(id json.RawMessage, result any, callErr error) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	resp := callResponse{ID: id, OK: callErr == nil, Result: result}
	if callErr != nil {
		resp.Result, resp.Error = nil, callErr.Error()
	}
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(callResponse{ID: id, Error: fmt.Sprintf("result of the call cannot be sent as JSON: %v", err)})
	}
	return b
}
