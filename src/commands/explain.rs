use super::Ctx;
use crate::checks;
use crate::cli::ExplainArgs;
use crate::report::{Report, Section};
use serde_json::json;

pub fn run(args: &ExplainArgs, _ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("explain");
    match &args.id {
        None => {
            let rows = checks::all()
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.name.clone(),
                        c.severity.to_string(),
                        c.title.clone(),
                    ]
                })
                .collect();
            report.sections.push(Section::Table {
                title: format!(
                    "{} checks (lbdoctor explain ID for one)",
                    checks::all().len()
                ),
                header: vec![
                    "ID".into(),
                    "Name".into(),
                    "Severity".into(),
                    "Title".into(),
                ],
                rows,
            });
            let list: Vec<_> = checks::all()
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name, "severity": c.severity, "title": c.title, "summary": c.summary}))
                .collect();
            report.data.insert("checks".into(), json!(list));
        }
        Some(id) => {
            let c = checks::get(id).ok_or_else(|| {
                crate::error::Error::Usage(format!(
                    "no check named {id:?}; `lbdoctor explain` lists them all"
                ))
            })?;
            report.sections.push(Section::Text {
                title: format!("{} {} ({}): {}", c.id, c.name, c.severity, c.title),
                body: format!("{}\n\n{}", c.summary, c.body),
            });
            report.data.insert(
                "check".into(),
                json!({"id": c.id, "name": c.name, "severity": c.severity, "title": c.title,
                       "summary": c.summary, "body": c.body, "family": checks::family(&c.id)}),
            );
        }
    }
    Ok(report)
}
