//! Sample-rate conversion by a rational factor L/M with a polyphase
//! windowed-sinc filter (Kaiser window), for audio whose rate the Opus
//! encoder does not take (44.1 kHz and the like, converted to 48 kHz).
//!
//! Output sample k sits at input time t = k·M/L. It is the sum of the 2N input
//! samples around t, weighted by h(s − t) = c·sinc(c·(s − t))·w((s − t)/N),
//! where c = min(1, L/M)·0.95 puts the cut-off just below the lower of the two
//! Nyquist frequencies and w is a Kaiser window (β = 8.6, about 90 dB of
//! stop-band attenuation). Each of the L phases is normalised to unity gain
//! at DC. The filter is symmetric about t, so the output is not delayed: n
//! input samples give exactly ⌈n·L/M⌉ output samples.

// Only the Opus encoder uses it.
#![cfg_attr(not(framepress_opus), allow(dead_code))]

/// Zero crossings of the sinc on each side at full bandwidth.
const HALF_TAPS: usize = 24;
/// Kaiser window shape.
const BETA: f64 = 8.6;
/// Largest number of filter phases (table size L × 2N) accepted.
const MAX_PHASES: u64 = 4096;

pub(crate) struct Resampler {
    l: u64,
    m: u64,
    /// Taps on each side of the centre.
    half: usize,
    /// L phases × 2·half taps.
    table: Vec<f32>,
    /// Interleaved input history; `hist[0]` is input sample `base`.
    hist: Vec<f32>,
    base: i64,
    /// Input samples received.
    received: u64,
    /// Next output sample.
    next: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The zeroth-order modified Bessel function of the first kind, by its series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, x * x / 4.0);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

impl Resampler {
    /// A converter from `from` to `to` samples per second for `channels`
    /// interleaved channels; fails when the ratio needs too many phases.
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Resampler, String> {
        let g = gcd(u64::from(from), u64::from(to)).max(1);
        let (l, m) = (u64::from(to) / g, u64::from(from) / g);
        if l > MAX_PHASES || from == 0 || to == 0 {
            return Err(format!(
                "converting {from} Hz to {to} Hz needs {l} filter phases, more than the {MAX_PHASES} supported"
            ));
        }
        let c = (l as f64 / m as f64).min(1.0) * 0.95;
        let half = ((HALF_TAPS as f64 / c).ceil() as usize).max(1);
        let taps = 2 * half;
        let mut table = vec![0f32; l as usize * taps];
        let i0_beta = bessel_i0(BETA);
        for p in 0..l as usize {
            let frac = p as f64 / l as f64;
            let row = &mut table[p * taps..(p + 1) * taps];
            let mut sum = 0.0;
            let mut coeffs = vec![0f64; taps];
            for (j, coeff) in coeffs.iter_mut().enumerate() {
                // Input sample i − half + 1 + j lies at x from t = i + frac.
                let x = j as f64 - (half as f64 - 1.0) - frac;
                let r = x / half as f64;
                if r.abs() >= 1.0 {
                    continue;
                }
                let arg = std::f64::consts::PI * c * x;
                let sinc = if arg.abs() < 1e-12 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                let window = bessel_i0(BETA * (1.0 - r * r).sqrt()) / i0_beta;
                *coeff = c * sinc * window;
                sum += *coeff;
            }
            for (out, v) in row.iter_mut().zip(&coeffs) {
                *out = (v / sum) as f32;
            }
        }
        Ok(Resampler {
            l,
            m,
            half,
            table,
            // The samples before the first are silence.
            hist: vec![0.0; half * channels],
            base: -(half as i64),
            received: 0,
            next: 0,
        })
    }

    /// Converts interleaved `input`, appending to `out` every output sample
    /// whose inputs are known; with `last`, the input ends here and the
    /// remaining outputs are produced as if silence followed.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>, channels: usize, last: bool) {
        self.hist.extend_from_slice(input);
        self.received += (input.len() / channels.max(1)) as u64;
        let total = (u128::from(self.received) * u128::from(self.l)).div_ceil(u128::from(self.m));
        if last {
            self.hist
                .resize(self.hist.len() + (self.half + 1) * channels, 0.0);
        }
        let taps = 2 * self.half;
        let available = self.base + (self.hist.len() / channels.max(1)) as i64;
        loop {
            if last && u128::from(self.next) >= total {
                break;
            }
            let pos = u128::from(self.next) * u128::from(self.m);
            let i = (pos / u128::from(self.l)) as i64;
            let p = (pos % u128::from(self.l)) as usize;
            // Needs input samples i − half + 1 ..= i + half.
            if i + self.half as i64 >= available {
                break;
            }
            let first = (i - self.half as i64 + 1 - self.base) as usize;
            let row = &self.table[p * taps..(p + 1) * taps];
            for ch in 0..channels {
                let mut acc = 0f32;
                for (j, &h) in row.iter().enumerate() {
                    acc += h * self.hist[(first + j) * channels + ch];
                }
                out.push(acc);
            }
            self.next += 1;
        }
        // Drop the history the next output no longer needs.
        let pos = u128::from(self.next) * u128::from(self.m);
        let i = (pos / u128::from(self.l)) as i64;
        let keep_from = (i - self.half as i64 + 1).max(self.base);
        let drop = ((keep_from - self.base) as usize).min(self.hist.len() / channels.max(1));
        self.hist.drain(..drop * channels);
        self.base += drop as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: f64, freq: f64, n: usize, phase: f64) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (0.5 * (2.0 * std::f64::consts::PI * freq * i as f64 / rate + phase).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn a_sine_at_44100_becomes_the_same_sine_at_48000() {
        let input = sine(44_100.0, 1000.0, 44_100, 0.0);
        let mut r = Resampler::new(44_100, 48_000, 1).unwrap();
        let mut out = Vec::new();
        // In uneven pieces, as a stream arrives.
        for piece in input.chunks(997) {
            r.process(piece, &mut out, 1, false);
        }
        r.process(&[], &mut out, 1, true);
        assert_eq!(out.len(), 48_000);
        let want = sine(48_000.0, 1000.0, 48_000, 0.0);
        // Away from the edges, where the filter sees silence.
        let (mut signal, mut noise) = (0f64, 0f64);
        for (a, b) in out[200..47_800].iter().zip(&want[200..47_800]) {
            signal += f64::from(*b).powi(2);
            noise += f64::from(a - b).powi(2);
        }
        let snr = 10.0 * (signal / noise).log10();
        assert!(snr > 60.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn stereo_channels_stay_apart_and_downsampling_works() {
        let n = 9600;
        let left = sine(96_000.0, 500.0, n, 0.0);
        let right = sine(96_000.0, 2000.0, n, 1.0);
        let inter: Vec<f32> = left
            .iter()
            .zip(&right)
            .flat_map(|(&a, &b)| [a, b])
            .collect();
        let mut r = Resampler::new(96_000, 48_000, 2).unwrap();
        let mut out = Vec::new();
        r.process(&inter, &mut out, 2, true);
        assert_eq!(out.len(), 2 * n / 2);
        let wl = sine(48_000.0, 500.0, n / 2, 0.0);
        let wr = sine(48_000.0, 2000.0, n / 2, 1.0);
        for k in 100..n / 2 - 100 {
            assert!((out[2 * k] - wl[k]).abs() < 1e-3, "left {k}");
            assert!((out[2 * k + 1] - wr[k]).abs() < 1e-3, "right {k}");
        }
    }

    #[test]
    fn awkward_ratios_are_refused() {
        assert!(Resampler::new(44_099, 48_000, 1).is_err());
        assert!(Resampler::new(22_050, 48_000, 1).is_ok());
    }
}
