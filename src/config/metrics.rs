//! RocketMQ 5's metrics keys: which exporter, where it listens, and the labels every series
//! carries (docs/operations.md, "Metrics").

use std::net::IpAddr;

use super::values::{boolean, need, port, BOOL_RULE, IP_RULE, PORT_RULE};
use super::{BrokerConfig, Setter};

/// `metricsExporterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsExporter {
    /// `DISABLE` (0): no metrics endpoint.
    Disabled,
    /// `PROM` (2): a Prometheus endpoint on `metricsPromExporterHost:metricsPromExporterPort`.
    Prometheus,
}

/// The metrics settings, Java's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub exporter: MetricsExporter,
    /// `metricsPromExporterHost`; `None` (empty) means `brokerIP1`, as in Java.
    pub prom_host: Option<IpAddr>,
    /// `metricsPromExporterPort`.
    pub prom_port: u16,
    /// `metricsLabel`: `k:v,k:v`, labels added to every series.
    pub labels: Vec<(String, String)>,
    /// `metricsInDelta`: every series carries `aggregation="delta"` (the values stay
    /// cumulative, as Java's Prometheus exporter keeps them).
    pub in_delta: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            exporter: MetricsExporter::Disabled,
            prom_host: None,
            prom_port: 5557,
            labels: Vec::new(),
            in_delta: false,
        }
    }
}

impl MetricsConfig {
    /// The keys as `broker.conf` text (GET_BROKER_CONFIG).
    pub fn properties(&self) -> [(&'static str, String); 5] {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        [
            (
                "metricsExporterType",
                match self.exporter {
                    MetricsExporter::Disabled => "DISABLE",
                    MetricsExporter::Prometheus => "PROM",
                }
                .to_owned(),
            ),
            (
                "metricsPromExporterHost",
                self.prom_host.map(|ip| ip.to_string()).unwrap_or_default(),
            ),
            ("metricsPromExporterPort", self.prom_port.to_string()),
            ("metricsLabel", labels.join(",")),
            ("metricsInDelta", self.in_delta.to_string()),
        ]
    }
}

impl BrokerConfig {
    /// The metrics keys.
    pub(super) fn set_metrics(&mut self, key: &str, value: &str) -> Setter {
        let metrics = &mut self.metrics;
        let result = match key {
            "metricsExporterType" => parse_exporter(value).map(|e| metrics.exporter = e),
            "metricsPromExporterHost" => match value {
                "" => Ok(None),
                _ => need(value.parse().ok(), IP_RULE).map(Some),
            }
            .map(|host| metrics.prom_host = host),
            "metricsPromExporterPort" => {
                need(port(value), PORT_RULE).map(|p| metrics.prom_port = p)
            }
            "metricsLabel" => parse_labels(value).map(|labels| metrics.labels = labels),
            "metricsInDelta" => need(boolean(value), BOOL_RULE).map(|v| metrics.in_delta = v),
            _ => return None,
        };
        Some(result)
    }
}

/// Java's names and numbers of `metricsExporterType`; only DISABLE and PROM are built.
fn parse_exporter(value: &str) -> Result<MetricsExporter, String> {
    match value {
        "DISABLE" | "0" => Ok(MetricsExporter::Disabled),
        "PROM" | "2" => Ok(MetricsExporter::Prometheus),
        "OTLP_GRPC" | "1" | "LOG" | "3" => Err(format!(
            "only the Prometheus exporter is built: set PROM (or DISABLE), not {value}"
        )),
        _ => Err("expected DISABLE, PROM, OTLP_GRPC or LOG".to_owned()),
    }
}

/// `k:v,k:v`; every pair must have both parts and a Prometheus label name.
fn parse_labels(value: &str) -> Result<Vec<(String, String)>, String> {
    let pairs = value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty());
    pairs
        .map(|pair| {
            let (name, label) = pair
                .split_once(':')
                .filter(|(name, label)| {
                    !label.contains(':') && !label.is_empty() && !name.is_empty()
                })
                .ok_or_else(|| format!("`{pair}` is not name:value"))?;
            let valid = name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if !valid {
                return Err(format!(
                    "`{name}` is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                ));
            }
            Ok((name.to_owned(), label.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::{BrokerConfig, ConfigError, MetricsExporter};

    #[test]
    fn the_prometheus_exporter_is_the_one_taken() {
        let mut config = BrokerConfig::default();
        config
            .set("metricsExporterType", "PROM", "-o")
            .expect("PROM");
        config
            .set("metricsLabel", "instance_id:i1, zone:z", "-o")
            .expect("labels");
        assert_eq!(config.metrics.exporter, MetricsExporter::Prometheus);
        assert_eq!(
            config.metrics.labels[1],
            ("zone".to_owned(), "z".to_owned())
        );
        for (key, value) in [
            ("metricsExporterType", "OTLP_GRPC"),
            ("metricsExporterType", "prom"),
            ("metricsLabel", "instance_id"),
            ("metricsLabel", "1x:v"),
            ("metricsPromExporterPort", "0"),
        ] {
            let refused = config.set(key, value, "-o").expect_err(value);
            assert!(
                matches!(refused, ConfigError::InvalidValue { .. }),
                "{refused}"
            );
            assert!(refused.to_string().contains(key), "{refused}");
        }
    }
}
