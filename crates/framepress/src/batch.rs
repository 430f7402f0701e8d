//! Many clips at once across devices: one worker per device (every visible
//! GPU, or the CPU), each taking the next clip as soon as it finishes one,
//! so that throughput grows with the number of devices.
//!
//! ```no_run
//! use framepress::batch::{all_devices, run_on_devices};
//! # fn encode_clip(i: usize, d: framepress::Device) -> framepress::Result<u64> { Ok(0) }
//! let devices = all_devices();
//! let results = run_on_devices(10, &devices, |clip, device| encode_clip(clip, device));
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::config::Device;
use crate::error::{Error, Result};

/// Every CUDA device this process can use, or the CPU when there is none.
pub fn all_devices() -> Vec<Device> {
    match cuda_device_count() {
        0 => vec![Device::Cpu],
        n => (0..n as u32).map(Device::Cuda).collect(),
    }
}

/// The number of CUDA devices (0 without a driver or a device).
pub fn cuda_device_count() -> usize {
    framepress_cuda::runtime::device_count().unwrap_or(0)
}

/// Parses a device list: `all` (every GPU, else the CPU), `cuda` (every
/// GPU), `cpu`, or names joined by commas (`cuda:0,cuda:1`). Each CUDA
/// device must exist; a device named twice gets two workers.
pub fn parse_devices(text: &str) -> Result<Vec<Device>> {
    let t = text.trim().to_ascii_lowercase();
    let count = cuda_device_count();
    let none = || Error::InvalidOption {
        option: "devices",
        value: text.to_string(),
        expected: "cpu: this machine has no usable CUDA device".to_string(),
    };
    let devices = match t.as_str() {
        "all" => all_devices(),
        "cuda" | "gpu" | "gpus" => match count {
            0 => return Err(none()),
            n => (0..n as u32).map(Device::Cuda).collect(),
        },
        _ => t
            .split(',')
            .map(|name| Device::parse(name.trim()))
            .collect::<Result<Vec<_>>>()?,
    };
    for device in &devices {
        if let Device::Cuda(i) = *device {
            if i as usize >= count {
                return Err(Error::InvalidOption {
                    option: "devices",
                    value: text.to_string(),
                    expected: match count {
                        0 => "cpu: this machine has no usable CUDA device".to_string(),
                        n => format!("devices that exist: cpu, cuda:0 to cuda:{}", n - 1),
                    },
                });
            }
        }
    }
    if devices.is_empty() {
        return Err(none());
    }
    Ok(devices)
}

/// Runs `work(job, device)` for every job in `0..jobs`, with one worker
/// thread per entry of `devices`; a worker takes the next job when it is
/// done with one. Returns each job's result, in job order. A job's error
/// does not stop the others.
pub fn run_on_devices<R, F>(jobs: usize, devices: &[Device], work: F) -> Vec<Result<R>>
where
    R: Send,
    F: Fn(usize, Device) -> Result<R> + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<R>>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for &device in devices {
            let (next, results, work) = (&next, &results, &work);
            scope.spawn(move || loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= jobs {
                    break;
                }
                let outcome = work(job, device);
                *results[job].lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Err(Error::InvalidInput("no device ran this job".into())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_once_in_order_of_results() {
        let devices = [Device::Cpu, Device::Cpu, Device::Cpu];
        let ran = Mutex::new(Vec::new());
        let results = run_on_devices(50, &devices, |job, _| {
            ran.lock().unwrap().push(job);
            if job == 7 {
                return Err(Error::InvalidInput("job 7 fails".into()));
            }
            Ok(job * 2)
        });
        let mut ran = ran.into_inner().unwrap();
        ran.sort_unstable();
        assert_eq!(ran, (0..50).collect::<Vec<_>>());
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(*v, i * 2),
                Err(e) => assert!(i == 7 && e.to_string().contains("job 7 fails")),
            }
        }
    }

    #[test]
    fn no_devices_runs_nothing() {
        let results = run_on_devices(3, &[], |_, _| Ok(()));
        assert!(results.iter().all(|r| r.is_err()));
    }

    #[test]
    fn device_lists() {
        assert_eq!(parse_devices("cpu").unwrap(), vec![Device::Cpu]);
        assert_eq!(
            parse_devices("cpu, cpu").unwrap(),
            vec![Device::Cpu, Device::Cpu]
        );
        assert!(parse_devices("tpu").is_err());
        if cuda_device_count() == 0 {
            assert_eq!(parse_devices("all").unwrap(), vec![Device::Cpu]);
            let e = parse_devices("cuda:1").unwrap_err().to_string();
            assert!(e.contains("no usable CUDA device"), "{e}");
            assert!(parse_devices("cuda").is_err());
        } else {
            let n = cuda_device_count();
            let e = parse_devices(&format!("cuda:{n}")).unwrap_err().to_string();
            assert!(e.contains("devices that exist"), "{e}");
        }
    }
}
