package scenes

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// assimpModels is where Debian's assimp-testmodels package puts its glTF 2.0 files.
const assimpModels = "/usr/share/assimp/models/glTF2"

// assimpModel returns the path of a file from assimp-testmodels, skipping the test when the
// package is not installed (scripts/setup.sh installs it).
func assimpModel(t testing.TB, rel string) string {
	t.Helper()
	if _, err := os.Stat(assimpModels); err != nil {
		t.Skipf("assimp-testmodels is not installed (%v): run scripts/setup.sh or apt-get install assimp-testmodels", err)
	}
	return filepath.Join(assimpModels, rel)
}

// testDoc builds small glTF documents for tests: a JSON object plus one binary buffer.
type testDoc struct {
	json map[string]any
	bin  []byte
}

// newTestDoc returns a document with one scene whose root is node 0.
func newTestDoc() *testDoc {
	return &testDoc{json: map[string]any{
		"asset":  map[string]any{"version": "2.0"},
		"scene":  0,
		"scenes": []any{map[string]any{"nodes": []any{0}}},
	}}
}

func (d *testDoc) list(key string) []any {
	l, _ := d.json[key].([]any)
	return l
}

func (d *testDoc) add(key string, v any) int {
	d.json[key] = append(d.list(key), v)
	return len(d.list(key)) - 1
}

// view appends data (4-byte aligned) as a buffer view and returns its index.
func (d *testDoc) view(data []byte, stride int) int {
	for len(d.bin)%4 != 0 {
		d.bin = append(d.bin, 0)
	}
	v := map[string]any{"buffer": 0, "byteOffset": len(d.bin), "byteLength": len(data)}
	if stride > 0 {
		v["byteStride"] = stride
	}
	d.bin = append(d.bin, data...)
	return d.add("bufferViews", v)
}

// accessor adds an accessor on a view.
func (d *testDoc) accessor(view, componentType, count int, typ string, extra map[string]any) int {
	a := map[string]any{"bufferView": view, "componentType": componentType, "count": count, "type": typ}
	for k, v := range extra {
		a[k] = v
	}
	return d.add("accessors", a)
}

// floats adds a float accessor of the given type holding vals.
func (d *testDoc) floats(typ string, vals ...float32) int {
	comps := map[string]int{"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[typ]
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return d.accessor(d.view(b, 0), 5126, len(vals)/comps, typ, nil)
}

// indices adds an index accessor of componentType 5121, 5123 or 5125.
func (d *testDoc) indices(componentType int, vals ...uint32) int {
	size := map[int]int{5121: 1, 5123: 2, 5125: 4}[componentType]
	b := make([]byte, size*len(vals))
	for i, v := range vals {
		switch size {
		case 1:
			b[i] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		default:
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
	}
	return d.accessor(d.view(b, 0), componentType, len(vals), "SCALAR", nil)
}

// mesh adds a one-primitive mesh and returns its index; prim holds attributes, indices...
func (d *testDoc) mesh(prim map[string]any) int {
	return d.add("meshes", map[string]any{"primitives": []any{prim}})
}

// triangleDoc returns a document with node 0 showing one triangle in the XY plane.
func triangleDoc() *testDoc {
	d := newTestDoc()
	pos := d.floats("VEC3", 0, 0, 0, 1, 0, 0, 0, 1, 0)
	idx := d.indices(5123, 0, 1, 2)
	m := d.mesh(map[string]any{"attributes": map[string]any{"POSITION": pos}, "indices": idx})
	d.add("nodes", map[string]any{"name": "tri", "mesh": m})
	return d
}

// finishBuffers declares the binary buffer with the given URI ("" for a GLB's BIN chunk),
// unless a test already declared buffers itself.
func (d *testDoc) finishBuffers(uri string) {
	if _, done := d.json["buffers"]; done || len(d.bin) == 0 {
		return
	}
	b := map[string]any{"byteLength": len(d.bin)}
	if uri != "" {
		b["uri"] = uri
	}
	d.json["buffers"] = []any{b}
}

// gltf returns the document as .gltf JSON with the buffer embedded as a data URI.
func (d *testDoc) gltf(t testing.TB) []byte {
	t.Helper()
	d.finishBuffers("data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(d.bin))
	out, err := json.Marshal(d.json)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// glb returns the document as a GLB container with the buffer in the BIN chunk.
func (d *testDoc) glb(t testing.TB) []byte {
	t.Helper()
	d.finishBuffers("")
	js, err := json.Marshal(d.json)
	if err != nil {
		t.Fatal(err)
	}
	return makeGLB(js, d.bin)
}

// makeGLB assembles a GLB container (bin may be nil: no BIN chunk).
func makeGLB(js, bin []byte) []byte {
	for len(js)%4 != 0 {
		js = append(js, ' ')
	}
	bin = append([]byte(nil), bin...)
	for len(bin)%4 != 0 {
		bin = append(bin, 0)
	}
	var out bytes.Buffer
	le := binary.LittleEndian
	total := 12 + 8 + len(js)
	if bin != nil {
		total += 8 + len(bin)
	}
	_ = binary.Write(&out, le, [3]uint32{0x46546C67, 2, uint32(total)})
	_ = binary.Write(&out, le, [2]uint32{uint32(len(js)), 0x4E4F534A})
	out.Write(js)
	if bin != nil {
		_ = binary.Write(&out, le, [2]uint32{uint32(len(bin)), 0x004E4942})
		out.Write(bin)
	}
	return out.Bytes()
}
