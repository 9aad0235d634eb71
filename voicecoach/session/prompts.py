"""What the coach says.

FIXED_PROMPTS never change at run time, so they ship pre-rendered in
audio_prompts/ (scripts/render_prompts.py) and play even if the speech engine
fails. Everything built from numbers (angles, times, ratings) is made by the
functions below and rendered live.
"""

from __future__ import annotations

FIXED_PROMPTS: dict[str, str] = {
    "checklist_intro": (
        "Let's get set up. I will read a short checklist. "
        "After each item, say ready, or press Enter."
    ),
    "check_height": (
        "Set the table for your height, so the ankle clamps sit just above your ankle bones."
    ),
    "check_table": (
        "Check that your table is rated for at least a fifth more than your weight, "
        "and carries a U L, C E or A S T M safety mark on its frame."
    ),
    "check_release": (
        "Find the ankle lock release, and check that you can reach it "
        "and open it by hand."
    ),
    "check_ankles": "Lock your ankles in. The clamps should be snug, with room for one finger.",
    "check_socks": "Wear non-slip socks, so your feet cannot slide.",
    "check_phone": "Keep your phone within arm's reach.",
    "check_spotter": (
        "For your first ten sessions, have someone with you who can help you up."
    ),
    # Voices behind the user (television, radio) cost the recogniser the most stops.
    "check_stop": (
        "Whenever you want to come up, say stop, and I will guide you up at once. "
        "Turn off any television or radio, so that I can hear you."
    ),
    "mic_check": "Microphone check. Say ready.",
    "ready_reask": "I did not hear you. Say ready when you are set, or press Enter.",
    "pre_pain_ask": (
        "Before we begin, how is your pain right now? Say a number from zero to ten."
    ),
    "checkin_ask": "Pain check. Say a number from zero to ten.",
    "post_pain_ask": (
        "You are upright. How is your pain now? Say a number from zero to ten, "
        "or press a number key. Take your time."),
    "pain_reask": "I did not get a number. Please say a number from zero to ten.",
    "not_understood": "Sorry, I did not understand.",
    "key_fallback": "Please press the number on the keyboard, or say it once more.",
    "not_starting": "I could not get an answer, so we will not start today. You are still upright.",
    "return_stop": "Coming up now.",
    "return_pain": "Your pain has gone up, so we are coming up now.",
    "return_no_answer": (
        "I have not heard an answer, so we are coming up now. "
        "If you need help, call out to someone nearby."
    ),
    "return_microphone": "The microphone has stopped working, so we are coming up now.",
    "return_recogniser": "Speech recognition has stopped working, so we are coming up now.",
    "return_speech": "The voice engine has failed, so we are coming up now.",
    "return_keyboard": "Typed input has ended, so we are coming up now.",
    "return_symptom": (
        "Numbness, weakness, blurred vision or a headache are signs to come up, "
        "so we are coming up now."
    ),
    "return_dizzy_start": "Dizziness is a sign to come up, so we are coming up now.",
    "return_help": "I am here with you.",
    "stuck_guidance": (
        "Stay calm and take slow, deep breaths. Press your palms against the table "
        "and rock gently toward upright. Try up to three times. "
        "If you are still stuck, call for help. Do not kick. "
        "Once you are upright, say upright, or press any key."
    ),
    "upright_confirm_ask": (
        "Tell me you are safe. Once you are fully upright, say upright, or press any key."
    ),
    "return_rise": "Push gently with your palms and rise slowly to about thirty degrees.",
    "return_pause": (
        "Pause here at about thirty degrees. Breathe slowly and let your balance settle."
    ),
    "return_pause_low": (
        "Stay where you are for a moment. Breathe slowly and let your balance settle."
    ),
    "return_upright": (
        "Now come up slowly until you are fully upright. Keep your ankles locked and stay still."
    ),
    "return_dizzy": (
        "Go back to about thirty degrees and wait there. Breathe slowly. "
        "I will tell you when to go on."
    ),
    "return_dizzy_wait": (
        "Stay here at about thirty degrees and wait for the dizziness to pass. "
        "Breathe slowly. I will tell you when to go on."
    ),
    "return_dizzy_wait_low": (
        "Stay where you are and wait for the dizziness to pass. Breathe slowly. "
        "I will tell you when to go on."
    ),
    "return_dizzy_low": (
        "Lean back a little, to where you were, and wait there. Breathe slowly. "
        "I will tell you when to go on."
    ),
    "dizzy_after": (
        "Sit down and rest until the dizziness passes. If it lasts more than five minutes, "
        "see a doctor before your next session."
    ),
    "dizzy_passed_ask": "You felt dizzy in this session. Has the dizziness passed? Say yes or no.",
    "yes_no_reask": "I did not hear you. Please say yes or no.",
    "release": "You can release your ankles now. Step off carefully.",
    "hold_complete": "That is the end of the hold. Well done.",
    "no_hold": "No hold is running right now.",
    "session_done": "Session complete. Thank you.",
}


def duration_words(seconds: float) -> str:
    """90 -> '1 minute 30 seconds'. Rounded to whole seconds: nobody wants tenths read out."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute" + ("s" if minutes != 1 else ""))
    if secs or not minutes:
        parts.append(f"{secs} second" + ("s" if secs != 1 else ""))
    return " ".join(parts)


def descend_text(angle: int, seconds: float) -> str:
    return (f"Lean back slowly to {angle} degrees. "
            f"Your hold begins in {duration_words(seconds)}.")


def step_text(title: str, angle: int, seconds: float, instruction: str,
              angle_changed: bool) -> str:
    move = f"Move slowly to {angle} degrees. " if angle_changed else ""
    text = f"{title}. {move}Hold at {angle} degrees for {duration_words(seconds)}."
    return f"{text} {instruction}".strip()


def remaining_text(seconds: float) -> str:
    return f"{duration_words(seconds)} left."


COUNTDOWN_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def countdown_text(seconds_left: int) -> str:
    if seconds_left == 10:
        return "10 seconds left."
    return COUNTDOWN_WORDS[seconds_left - 1]


def time_left_text(seconds: float, what: str) -> str:
    return f"{duration_words(seconds)} left {what}."


def pain_noted_text(value: int) -> str:
    return f"Pain {value}. Noted."


def confirm_text(value: int) -> str:
    return f"I heard {value}. Say yes, or say the number again."


def summary_text(held_s: float, before: int | None, after: int | None) -> str:
    parts = [f"You held for {duration_words(held_s)}."]
    if before is not None and after is not None:
        parts.append(f"Pain was {before} before and {after} after.")
    return " ".join(parts)


def for_typing(text: str) -> str:
    """A prompt as a typed session shows it: "say ready" becomes "type ready", and the
    coach that "did not hear you" did not get an answer."""
    text = text.replace("I did not hear you.", "I did not get an answer.")
    text = text.replace("I heard ", "I read ")
    return text.replace("Say ", "Type ").replace(" say ", " type ")
