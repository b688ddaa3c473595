//! The seat driven without a room: a recording room stands in for the actor, the fake engine
//! for the model, and each test checks the effects the seat asked for.

use super::*;

fn line(n: usize) -> Line {
    Line {
        speaker: Some("Mia".into()),
        text: format!("idea {n}"),
    }
}

#[test]
fn the_prompt_window_drops_old_lines_in_halves_so_prompts_extend_each_other() {
    let mut lines = VecDeque::new();
    let mut drops = 0;
    for n in 0..100 {
        let before: Vec<Line> = lines.iter().cloned().collect();
        push_bounded(&mut lines, line(n), 16);
        assert!(
            lines.len() >= 16.min(n + 1) && lines.len() <= 32,
            "{}",
            lines.len()
        );
        assert_eq!(lines.back(), Some(&line(n)), "the newest line is always in");
        let now: Vec<Line> = lines.iter().cloned().collect();
        if now.starts_with(&before) {
            continue;
        }
        // Only at a drop does the window not extend the previous one.
        drops += 1;
        assert_eq!(now.len(), 16);
    }
    // 100 lines: drops at the 33rd, 50th, 67th and 84th; every other message only extends.
    assert_eq!(drops, 4);
}
