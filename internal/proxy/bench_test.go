package proxy_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkAPICall compares requests per second to the dev provider's API
// called directly with a token and called through the proxy, over loopback
// with keep-alive, from parallel clients. The difference is the proxy's own
// cost per request. bench/proxy.sh measures the same with wrk, beside nginx.
func BenchmarkAPICall(b *testing.B) {
	f := newFixtureWith(b, fixtureOptions{autoApprove: true, quiet: true})
	f.login(b, "dev")
	token := f.storedToken(b)
	for _, bc := range []struct {
		name, url, auth string
	}{
		{"direct", f.api + "v2/users/me", "Bearer " + token},
		{"proxy", f.base + "/dev/v2/users/me", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
			defer client.CloseIdleConnections()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, bc.url, nil)
					if bc.auth != "" {
						req.Header.Set("Authorization", bc.auth)
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
