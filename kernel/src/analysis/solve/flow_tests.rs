//! The question flow (`Solver::solve`) with a scripted model and a fake runner: what the
//! model is told after each kind of failure, and what the cell ends with.

use super::*;
use crate::analysis::hints;
use crate::analysis::llm::LlmError;
use crate::analysis::llm::Reply;
use crate::analysis::prompt;
use crate::analysis::usage::Usage;
use crate::analysis::worker_client::InterruptHandle;
use serde_json::json;
use std::collections::VecDeque;

/// Replies in order; every prompt it was sent is kept.
struct ScriptedModel {
    replies: Mutex<VecDeque<String>>,
    prompts: Mutex<Vec<String>>,
}

impl ScriptedModel {
    fn new(codes: &[&str]) -> Self {
        Self {
            replies: Mutex::new(
                codes
                    .iter()
                    .map(|c| format!("```python\n{c}\n```"))
                    .collect(),
            ),
            prompts: Mutex::new(vec![]),
        }
    }

    fn prompts(&self) -> Vec<String> {
        self.prompts.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl CodeModel for ScriptedModel {
    async fn complete(
        &self,
        _system: &str,
        user: &str,
        _temperature: f32,
        _max_tokens: u32,
        on_delta: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<Reply, LlmError> {
        self.prompts.lock().unwrap().push(user.to_string());
        let text = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .ok_or_else(|| LlmError("no scripted reply".into()))?;
        on_delta(&text);
        Ok(Reply {
            text,
            usage: Some(Usage {
                prompt_tokens: 100,
                completion_tokens: 10,
            }),
            truncated: false,
        })
    }
}

/// Outcomes in order; every code it was asked to run is kept.
struct FakeRunner {
    outcomes: VecDeque<Ran>,
    ran: Vec<String>,
}

#[async_trait::async_trait]
impl Runner for FakeRunner {
    async fn run(&mut self, code: &str) -> Ran {
        self.ran.push(code.to_string());
        self.outcomes.pop_front().expect("a scripted outcome")
    }
}

fn answered(text: &str) -> Ran {
    Ran::Ok {
        value: json!({"result_type": "str", "for_interpretation": text, "figures": 0}),
        outputs: vec![],
    }
}

fn raised(ename: &str, evalue: &str) -> Ran {
    Ran::CodeError {
        value: json!({"ename": ename, "evalue": evalue}),
    }
}

const QUESTION: &str = "Correlation of a and b with its p-value? @r[value] @p[value]";

async fn solve(
    model: &ScriptedModel,
    outcomes: Vec<Ran>,
    rounds: usize,
) -> (Result<Solved, Unsolved>, FakeRunner, Ledger) {
    let sink = OutputSink::new(|_| {});
    let interrupt = InterruptHandle::default();
    let solver = Solver {
        llm: model,
        sink: &sink,
        temperature: 0.1,
        max_tokens: 512,
        max_rounds: rounds,
        timeout: Duration::from_secs(5),
        interrupt: &interrupt,
        validate: true,
        preface: vec![],
        privacy: Default::default(),
    };
    let data = DataInfo {
        names: vec!["t".into()],
        columns: vec!["a".into(), "b".into()],
        sql_tables: vec![],
        spark_tables: vec![],
    };
    let mut runner = FakeRunner {
        outcomes: outcomes.into(),
        ran: vec![],
    };
    let mut ledger = Ledger::default();
    let base = prompt::code_prompt(
        &[("t".into(), json!({"columns": ["a", "b"], "rows": 3}))],
        &[],
        QUESTION,
        &[],
        "",
        &Default::default(),
        true,
    );
    let got = solver
        .solve(&base, QUESTION, &data, &mut runner, &mut ledger)
        .await;
    (got, runner, ledger)
}

#[tokio::test]
async fn the_first_prompt_names_the_method_and_the_answer_form() {
    let model = ScriptedModel::new(&["result = '@r[0.5] @p[0.01]'"]);
    let (got, runner, ledger) = solve(&model, vec![answered("@r[0.5] @p[0.01]")], 3).await;
    assert!(got.is_ok());
    assert_eq!((ledger.calls(), runner.ran.len()), (1, 1));
    let first = &model.prompts()[0];
    assert!(first.contains("stats.pearsonr"), "{first}");
    assert!(first.contains("@r[...], @p[...]"), "{first}");
}

#[tokio::test]
async fn an_error_is_fed_back_with_the_hint_for_its_class() {
    let model = ScriptedModel::new(&[
        "r, p = df['a'].corr(df['b'])\nresult = f'@r[{r}] @p[{p}]'",
        "from scipy import stats\nr, p = stats.pearsonr(df['a'], df['b'])\nresult = f'@r[{r}] @p[{p}]'",
    ]);
    let outcomes = vec![
        raised(
            "TypeError",
            "cannot unpack non-iterable numpy.float64 object",
        ),
        answered("@r[0.5] @p[0.01]"),
    ];
    let (got, _, ledger) = solve(&model, outcomes, 3).await;
    let solved = got.ok().expect("solved on the second attempt");
    assert!(solved.code.contains("pearsonr"));
    assert_eq!(ledger.calls(), 2);
    let retry = &model.prompts()[1];
    assert!(
        retry.contains("The previous code failed when it ran:"),
        "{retry}"
    );
    assert!(retry.contains("cannot unpack non-iterable"), "{retry}");
    assert!(
        retry.contains("That call returns one value, not a pair"),
        "{retry}"
    );
}

#[tokio::test]
async fn the_same_error_twice_asks_for_another_way() {
    let model = ScriptedModel::new(&["result = df['a'].mean().round(2)"; 3]);
    let float_round = || raised("AttributeError", "'float' object has no attribute 'round'");
    let (got, runner, _) =
        solve(&model, vec![float_round(), float_round(), float_round()], 2).await;
    assert!(matches!(got, Err(Unsolved::Failed { .. })));
    assert_eq!(runner.ran.len(), 3);
    let prompts = model.prompts();
    assert!(!prompts[1].contains(hints::SAME_AGAIN));
    assert!(prompts[2].contains(hints::SAME_AGAIN), "{}", prompts[2]);
    assert!(prompts[2].contains("round(value, 2)"));
}

#[tokio::test]
async fn a_nan_answer_goes_back_once_and_a_real_one_wins() {
    let model = ScriptedModel::new(&["result = 'x'", "result = 'y'"]);
    let outcomes = vec![answered("@r[nan] @p[nan]"), answered("@r[0.25] @p[0.5]")];
    let (got, _, _) = solve(&model, outcomes, 3).await;
    assert_eq!(got.ok().unwrap().answer_text, "@r[0.25] @p[0.5]");
    let retry = &model.prompts()[1];
    assert!(retry.contains("came out NaN or empty"), "{retry}");
    assert!(retry.contains(hints::NAN_ANSWER));
}

#[tokio::test]
async fn a_nan_answer_stands_when_no_later_attempt_answers() {
    let model = ScriptedModel::new(&["result = 'x'", "result = 'y'"]);
    let outcomes = vec![answered("@r[nan] @p[0.5]"), raised("ValueError", "boom")];
    let (got, _, _) = solve(&model, outcomes, 1).await;
    assert_eq!(
        got.ok().expect("the NaN answer stands").answer_text,
        "@r[nan] @p[0.5]"
    );
}

#[tokio::test]
async fn a_refusal_says_what_to_do_instead_and_nothing_runs() {
    let model = ScriptedModel::new(&[
        "import os\nresult = os.listdir('.')",
        "result = '@r[1] @p[0]'",
    ]);
    let (got, runner, _) = solve(&model, vec![answered("@r[1] @p[0]")], 3).await;
    assert!(got.is_ok());
    assert_eq!(runner.ran, vec!["result = '@r[1] @p[0]'".to_string()]);
    let retry = &model.prompts()[1];
    assert!(retry.contains("failed validation"), "{retry}");
    assert!(retry.contains(hints::instead_of("import")), "{retry}");
}
