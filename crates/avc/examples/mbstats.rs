use avc::frame::YuvFrame;
use avc::macroblock::LumaPred;
use avc::picture::code_i_picture;
use std::io::Read;
fn main() {
    let (w, h) = (1280usize, 720usize);
    let mut buf = vec![0u8; w * h * 3 / 2];
    std::fs::File::open("/tmp/bbb720.yuv")
        .unwrap()
        .read_exact(&mut buf)
        .unwrap();
    let src = YuvFrame::from_i420(w, h, &buf).unwrap();
    let qp: i32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let mut recon = YuvFrame::new(w, h);
    let mbs = code_i_picture(&src, &mut recon, w / 16, h / 16, qp);
    let mut stats = std::collections::BTreeMap::new();
    for (addr, mb) in mbs.iter().enumerate() {
        let (mx, my) = (addr % (w / 16), addr / (w / 16));
        let mut se = 0f64;
        for y in 0..16 {
            for x in 0..16 {
                let d = src.y.at(mx * 16 + x, my * 16 + y) as f64
                    - recon.y.at(mx * 16 + x, my * 16 + y) as f64;
                se += d * d;
            }
        }
        let k = match mb.luma {
            LumaPred::I4(_) => "I4",
            LumaPred::I16(_) => "I16",
            LumaPred::Pcm => "PCM",
            _ => "?",
        };
        let e = stats.entry(k).or_insert((0usize, 0f64));
        e.0 += 1;
        e.1 += se / 256.0;
    }
    for (k, (n, se)) in stats {
        println!("{k}: {n} mbs, mse {:.2}", se / n as f64);
    }
}
