//! Reading Prometheus text as the tests need it: one series by name and labels, or the sum of
//! every series of a name (all classes, all tiers).

/// The value of the series `name` whose labels include every one of `labels`.
pub fn series(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    matching(metrics, name, labels).next()
}

/// The sum of every series `name` whose labels include every one of `labels`; 0 without any.
pub fn series_sum(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    matching(metrics, name, labels).sum()
}

fn matching<'a>(
    metrics: &'a str,
    name: &'a str,
    labels: &'a [&'a str],
) -> impl Iterator<Item = f64> + 'a {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(move |l| l.split(['{', ' ']).next() == Some(name))
        .filter(move |l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
}
