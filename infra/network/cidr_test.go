package network

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubnet(t *testing.T) {
	cases := []struct {
		name    string
		base    string
		newBits int
		index   int
		want    string
		wantErr bool
	}{
		{name: "first", base: "10.1.0.0/16", newBits: 4, index: 0, want: "10.1.0.0/20"},
		{name: "second", base: "10.1.0.0/16", newBits: 4, index: 1, want: "10.1.16.0/20"},
		{name: "public block", base: "10.1.0.0/16", newBits: 4, index: 8, want: "10.1.128.0/20"},
		{name: "last", base: "10.1.0.0/16", newBits: 4, index: 15, want: "10.1.240.0/20"},
		{name: "small vpc", base: "10.9.4.0/22", newBits: 4, index: 3, want: "10.9.4.192/26"},
		{name: "index too big", base: "10.1.0.0/16", newBits: 4, index: 16, wantErr: true},
		{name: "too many bits", base: "10.1.0.0/30", newBits: 4, index: 0, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Subnet(netip.MustParsePrefix(tc.base), tc.newBits, tc.index)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.String())
		})
	}
}

func TestHost(t *testing.T) {
	p := netip.MustParsePrefix("10.1.16.0/20")
	got, err := Host(p, 10)
	require.NoError(t, err)
	assert.Equal(t, "10.1.16.10", got.String())

	_, err = Host(p, 3)
	assert.Error(t, err, "AWS reserves the first four addresses")
	_, err = Host(p, 4095)
	assert.Error(t, err, "AWS reserves the broadcast address")
}
