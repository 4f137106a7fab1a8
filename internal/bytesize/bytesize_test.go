package bytesize

import "testing"

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{
		0:                   "0 bytes",
		1023:                "1023 bytes",
		1 << 10:             "1 KiB",
		256 << 10:           "256 KiB",
		1<<10 + 1:           "1.1 KiB", // rounded up: over the limit never reads as it
		16 << 20:            "16 MiB",
		16<<20 + 1:          "16.1 MiB",
		15*(1<<20) + 838860: "15.8 MiB", // just under 15.8 MiB
		15*(1<<20) + 838861: "15.9 MiB", // just over it
	} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
