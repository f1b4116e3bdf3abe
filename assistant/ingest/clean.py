"""Remove page furniture (comment forms, share bars, newsletter and cookie prompts) from article text."""

from __future__ import annotations

import re
import unicodedata

# Short lines made only of furniture words, in the languages news sites are commonly scraped from.
_FURNITURE_WORDS = [
    # English
    r"comments?",
    r"\d+\s+comments?",
    r"leave a (reply|comment)",
    r"post a comment",
    r"add a comment",
    r"reply",
    r"cancel reply",
    r"share( this( article| story| post)?)?( on \w+)?",
    r"tweet",
    r"email",
    r"print",
    r"copy link",
    r"related( articles| stories)?",
    r"read more",
    r"advertisement",
    r"subscribe( now)?",
    r"sign up",
    r"log ?in",
    r"sign in",
    r"accept( all)?( cookies)?",
    r"reject all",
    r"manage (cookies|preferences)",
    r"cookie (settings|policy|preferences)",
    r"skip to (main )?content",
    r"(facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|telegram)",
    # Chinese
    r"评论",
    r"发表评论",
    r"发表回复",
    r"回复",
    r"取消回复",
    r"分享(到)?",
    r"订阅",
    r"相关文章",
    r"阅读更多",
    r"广告",
    r"登录",
    r"注册",
    r"上一篇",
    r"下一篇",
    r"评论列表",
    r"暂无评论",
    # German, French, Spanish, Italian, Portuguese, Dutch
    r"kommentare?",
    r"antworten",
    r"teilen",
    r"abonnieren",
    r"commentaires?",
    r"r[ée]pondre",
    r"partager",
    r"s'abonner",
    r"comentarios?",
    r"responder",
    r"compartir",
    r"suscr[ií]bete",
    r"commenti",
    r"rispondi",
    r"condividi",
    r"coment[aá]rios?",
    r"partilhar",
    r"reageer",
    r"reacties",
    r"delen",
    # Russian, Japanese, Korean, Arabic
    r"комментарии",
    r"ответить",
    r"поделиться",
    r"コメント",
    r"返信",
    r"シェア",
    r"댓글",
    r"공유",
    r"تعليقات",
    r"مشاركة",
]
_FURNITURE_LINE = re.compile(r"^[\W_]*(" + "|".join(_FURNITURE_WORDS) + r")[\W_\d]*$", re.IGNORECASE)

# Phrases that mark a whole line as furniture wherever they appear (comment-form notices, cookie banners).
_FURNITURE_PHRASES = re.compile(
    "|".join(
        [
            r"your email address will not be published",
            r"required fields are marked",
            r"save my name, email,? and website",
            r"leave a (reply|comment)",
            r"you must be logged in to post a comment",
            r"this site uses akismet",
            r"we use cookies",
            r"this (web)?site uses cookies",
            r"by continuing to (use|browse) (this|our) (site|website)",
            r"accept (all )?cookies",
            r"subscribe to (our|the) ([\w'’@-]+ ){0,4}newsletter",
            r"sign up for (our|the) ([\w'’@-]+ ){0,4}(newsletter|emails?)",
            r"(deals|news|stories) (delivered )?(in|to) your inbox",
            r"sign up here to (get|receive)",
            r"share (this|on) (facebook|twitter|x|linkedin|whatsapp)",
            r"click to share on",
            r"follow us on (facebook|twitter|x|instagram)",
            r"all rights reserved",
            r"邮箱地址不会被公开",
            r"必填项已用",
            r"发表回复",
            r"使用cookie",
            r"订阅我们的",
            r"ihre e-mail-adresse wird nicht veröffentlicht",
            r"deine e-mail-adresse wird nicht veröffentlicht",
            r"erforderliche felder sind",
            r"votre adresse (e-mail|de messagerie) ne sera pas publiée",
            r"les champs obligatoires sont indiqués",
            r"tu dirección de correo electrónico no será publicada",
            r"los campos obligatorios están marcados",
            r"il tuo indirizzo email non sarà pubblicato",
            r"o seu endereço de e-mail não será publicado",
            r"ваш адрес email не будет опубликован",
            r"メールアドレスが公開されることはありません",
            r"이메일 주소는 공개되지 않습니다",
        ]
    ),
    re.IGNORECASE,
)
_MAX_FURNITURE_LINE = 160  # longer lines are prose, whatever words they contain

# A sign-up form's own words, or a page template's unrendered section tags ('{{ #verifyErrors }}'): no
# article says them, so a line holding one is furniture even when a scraper ran the form into one long line.
_FORM = re.compile(
    r"please enter a valid email|i would like to be emailed about|thanks for signing up\b|"
    r"skip past newsletter promotion|by (submitting your email|signing up|pressing sign up),? (you|i) "
    r"(agree|confirm)|i agree to receive|email \(required\)|newsletters may contain info|"
    r"google privacy policy and terms of service apply|there was an error processing your subscription|"
    r"\{\{\s*[#/^][\w.-]+\s*\}\}|\{%-?\s*(?:if|for|end\w*|block)\b",
    re.IGNORECASE,
)
_MAX_FORM_LINE = 1000
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def is_furniture(line: str) -> bool:
    """True when a line is page furniture rather than article text."""
    text = line.strip()
    if not text or len(text) > _MAX_FORM_LINE:
        return False
    if _FORM.search(text):
        return True
    if len(text) > _MAX_FURNITURE_LINE:
        return False
    return bool(_FURNITURE_LINE.match(text) or _FURNITURE_PHRASES.search(text))


def clean_text(text: str) -> str:
    """Normalise whitespace and drop furniture lines, keeping paragraphs apart."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    kept: list[str] = []
    for raw in text.split("\n"):
        line = _SPACES.sub(" ", raw).strip()
        if is_furniture(line):
            continue
        if not line and (not kept or not kept[-1]):
            continue
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)
