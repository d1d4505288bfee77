//! Reads a counter from a k3sync process's Prometheus endpoint (`/metrics`): how the bench knows
//! how many records a worker has committed without adding load to MySQL.

use std::time::Duration;

use anyhow::Context;

/// Sum of every series of `name` (all label sets) at `http://<addr>/metrics`; 0 before the
/// counter's first increment.
pub async fn counter(http: &reqwest::Client, addr: &str, name: &str) -> anyhow::Result<f64> {
    let text = http
        .get(format!("http://{addr}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("GET http://{addr}/metrics"))?
        .error_for_status()?
        .text()
        .await?;
    Ok(sum_series(&text, name))
}

fn sum_series(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::sum_series;

    #[test]
    fn series_of_the_counter_are_summed_and_others_ignored() {
        let text = "# TYPE k3sync_records_written_total counter\n\
                    k3sync_records_written_total{job=\"a\"} 1000\n\
                    k3sync_records_written_total{job=\"b\"} 500\n\
                    k3sync_records_written_total_other 7\n";
        assert!((sum_series(text, "k3sync_records_written_total") - 1500.0).abs() < f64::EPSILON);
        assert!(sum_series("", "k3sync_records_written_total").abs() < f64::EPSILON);
    }
}
