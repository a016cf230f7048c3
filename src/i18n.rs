//! Every string the widget shows, in Russian and Kazakh, and how the language is chosen.
//!
//! The Kazakh texts use the vocabulary of the signed policy's Kazakh column ("дербес
//! деректер", "Саясат", "келісім", "cookie файлдары") so the banner and the policy speak
//! the same language. Category titles, descriptions and purposes come from the core.

use vivus_consent_core::language::Language;

/// The banner's strings of one language: all the first-paint build needs, kept apart from
/// the dialogs' strings so it links without them.
#[derive(Debug)]
pub struct Banner {
    /// The banner heading.
    pub banner_title: &'static str,
    /// The banner's short explanation.
    pub banner_body: &'static str,
    /// "Accept all".
    pub accept_all: &'static str,
    /// "Reject all" (keep only the necessary ones).
    pub reject_all: &'static str,
    /// Opens the settings dialog.
    pub settings: &'static str,
    /// Opens the policy viewer.
    pub policy_link: &'static str,
    /// The accessible name of the language switch.
    pub language: &'static str,
    /// Shown when the browser sends Global Privacy Control.
    pub gpc_note: &'static str,
}

/// The interface strings of one language.
#[derive(Debug)]
pub struct Text {
    /// The banner's strings (also linked alone, by the first-paint build).
    pub banner: &'static Banner,
    /// The settings dialog heading.
    pub preferences_title: &'static str,
    /// The settings dialog's introduction.
    pub preferences_intro: &'static str,
    /// Beside the locked switch of the necessary category.
    pub always_on: &'static str,
    /// Heads the list of policy purposes a category covers.
    pub purposes: &'static str,
    /// Heads the list of services of a category.
    pub services: &'static str,
    /// Prefix of a service's cookie list.
    pub cookies: &'static str,
    /// Saves the switches as they are.
    pub save: &'static str,
    /// Closes a dialog.
    pub close: &'static str,
    /// While the policy text loads.
    pub loading: &'static str,
    /// The policy text could not be loaded or read.
    pub policy_failed: &'static str,
    /// Tries again.
    pub retry: &'static str,
    /// The policy-acceptance dialog heading.
    pub acceptance_title: &'static str,
    /// Why acceptance is asked for.
    pub acceptance_body: &'static str,
    /// Confirms acceptance.
    pub acceptance_confirm: &'static str,
    /// Shown when the visitor confirms without ticking the box (policy 6.2).
    pub acceptance_required: &'static str,
    /// Closes the acceptance dialog without accepting.
    pub cancel: &'static str,
    /// While a choice is being recorded.
    pub saving: &'static str,
    /// Once a choice is recorded.
    pub saved: &'static str,
    /// The service could not be reached.
    pub error_network: &'static str,
    /// The service did not answer in time.
    pub error_timeout: &'static str,
    /// The service failed (5xx).
    pub error_server: &'static str,
    /// The service refused the choice (4xx).
    pub error_rejected: &'static str,
    /// The service's answer or token was not valid.
    pub error_invalid: &'static str,
    /// The browser stores nothing (storage blocked, full or disabled): the choice holds
    /// for this page only.
    pub error_storage: &'static str,
}

static RU_BANNER: Banner = Banner {
    banner_title: "Cookie-файлы и персональные данные",
    banner_body:
        "Необходимые cookie-файлы нужны для работы сайта. С вашего согласия мы также используем \
                  аналитические и маркетинговые cookie-файлы, чтобы улучшать сервис и показывать \
                  подходящие вам предложения. Выбор можно изменить в любой момент.",
    accept_all: "Принять все",
    reject_all: "Только необходимые",
    settings: "Настроить",
    policy_link: "Политика обработки персональных данных",
    language: "Язык",
    gpc_note:
        "Ваш браузер передаёт сигнал Global Privacy Control, поэтому маркетинговые cookie-файлы \
               выключены, пока вы сами их не включите.",
};

static RU: Text = Text {
    banner: &RU_BANNER,
    preferences_title: "Настройки cookie-файлов",
    preferences_intro:
        "Выберите, на что вы даёте согласие. Необходимые cookie-файлы включены всегда: \
                        без них сайт не работает.",
    always_on: "Всегда включены",
    purposes: "Цели по Политике:",
    services: "Сервисы:",
    cookies: "cookie-файлы:",
    save: "Сохранить выбор",
    close: "Закрыть",
    loading: "Загружаем Политику…",
    policy_failed:
        "Не удалось загрузить Политику. Проверьте подключение к интернету и попробуйте ещё раз.",
    retry: "Повторить",
    acceptance_title: "Согласие на обработку персональных данных",
    acceptance_body: "Чтобы отправить заявку на микрокредит, нужно ваше согласие на обработку \
                      персональных данных. Прочитайте Политику и отметьте согласие.",
    acceptance_confirm: "Продолжить",
    acceptance_required: RU_ACCEPTANCE_REQUIRED,
    cancel: "Отмена",
    saving: "Сохраняем ваш выбор…",
    saved: "Ваш выбор сохранён.",
    error_network: RU_ERROR_NETWORK,
    error_timeout: RU_ERROR_TIMEOUT,
    error_server: RU_ERROR_SERVER,
    error_rejected: RU_ERROR_REJECTED,
    error_invalid: RU_ERROR_INVALID,
    error_storage: RU_ERROR_STORAGE,
};

static KK_BANNER: Banner = Banner {
    banner_title: "Cookie файлдары және дербес деректер",
    banner_body:
        "Сайттың жұмыс істеуі үшін біз қажетті cookie файлдарын пайдаланамыз. Сіздің келісіміңізбен \
                  қызметті жақсарту және сізге лайықты ұсыныстар көрсету үшін аналитикалық және \
                  маркетингтік cookie файлдарын да пайдаланамыз. Таңдауыңызды кез келген уақытта \
                  өзгерте аласыз.",
    accept_all: "Барлығын қабылдау",
    reject_all: "Тек қажеттілері",
    settings: "Баптау",
    policy_link: "Дербес деректерді өңдеу саясаты",
    language: "Тіл",
    gpc_note:
        "Браузеріңіз Global Privacy Control сигналын жібереді, сондықтан маркетингтік cookie \
               файлдары өзіңіз қоспайынша өшірулі тұрады.",
};

static KK: Text = Text {
    banner: &KK_BANNER,
    preferences_title: "Cookie файлдарын баптау",
    preferences_intro:
        "Қандай мақсаттарға келісім беретініңізді таңдаңыз. Қажетті cookie файлдары әрқашан қосулы: \
                        оларсыз сайт жұмыс істемейді.",
    always_on: "Әрқашан қосулы",
    purposes: "Саясат бойынша мақсаттар:",
    services: "Сервистер:",
    cookies: "cookie файлдары:",
    save: "Таңдауды сақтау",
    close: "Жабу",
    loading: "Саясат жүктелуде…",
    policy_failed:
        "Саясатты жүктеу мүмкін болмады. Интернетке қосылуды тексеріп, қайталап көріңіз.",
    retry: "Қайталау",
    acceptance_title: "Дербес деректерді өңдеуге келісім",
    acceptance_body: "Шағын кредитке өтінім жіберу үшін дербес деректеріңізді өңдеуге келісіміңіз \
                      қажет. Саясатпен танысып, келісіміңізді белгілеңіз.",
    acceptance_confirm: "Жалғастыру",
    acceptance_required: KK_ACCEPTANCE_REQUIRED,
    cancel: "Болдырмау",
    saving: "Таңдауыңыз сақталуда…",
    saved: "Таңдауыңыз сақталды.",
    error_network: KK_ERROR_NETWORK,
    error_timeout: KK_ERROR_TIMEOUT,
    error_server: KK_ERROR_SERVER,
    error_rejected: KK_ERROR_REJECTED,
    error_invalid: KK_ERROR_INVALID,
    error_storage: KK_ERROR_STORAGE,
};

/// What the runtime says in the visitor's language: the `error` events' messages and the loan
/// form's notice. Kept apart from the dialogs' strings ([`Text`] points at the same ones) so the
/// runtime links only these.
#[derive(Debug)]
pub struct Messages {
    /// The service could not be reached.
    pub network: &'static str,
    /// The service did not answer in time.
    pub timeout: &'static str,
    /// The service failed (5xx).
    pub server: &'static str,
    /// The service refused the choice (4xx).
    pub rejected: &'static str,
    /// The service's answer or token was not valid.
    pub invalid: &'static str,
    /// The browser stores nothing: the choice holds for this page only.
    pub storage: &'static str,
    /// The loan form needs the policy accepted (policy 6.2).
    pub acceptance_required: &'static str,
}

const RU_ACCEPTANCE_REQUIRED: &str =
    "Без согласия с Политикой заявку отправить нельзя (п. 6.2 Политики). \
                          Введённые данные сохранены на странице.";
const RU_ERROR_NETWORK: &str =
    "Не удалось связаться с сервисом согласий. Ваш выбор сохранён в браузере, \
                    мы повторим попытку автоматически.";
const RU_ERROR_TIMEOUT: &str =
    "Сервис согласий не ответил вовремя. Мы повторим попытку автоматически.";
const RU_ERROR_SERVER: &str =
    "Сервис согласий временно недоступен. Мы повторим попытку автоматически.";
const RU_ERROR_REJECTED: &str =
    "Сервис согласий не принял запрос. Обновите страницу и сделайте выбор ещё раз.";
const RU_ERROR_INVALID: &str = "Сервис согласий вернул неверный ответ. Попробуйте ещё раз позже.";
const RU_ERROR_STORAGE: &str =
    "Браузер не позволяет запомнить ваш выбор: он действует только на этой странице, \
                    и при следующем посещении мы спросим снова.";
const KK_ACCEPTANCE_REQUIRED: &str =
    "Саясатпен келіспейінше өтінім жіберу мүмкін емес (Саясаттың 6.2-тармағы). \
                          Енгізген деректеріңіз бетте сақталды.";
const KK_ERROR_NETWORK: &str =
    "Келісім сервисімен байланысу мүмкін болмады. Таңдауыңыз браузерде сақталды, \
                    біз әрекетті автоматты түрде қайталаймыз.";
const KK_ERROR_TIMEOUT: &str =
    "Келісім сервисі уақытында жауап бермеді. Әрекетті автоматты түрде қайталаймыз.";
const KK_ERROR_SERVER: &str =
    "Келісім сервисі уақытша қолжетімсіз. Әрекетті автоматты түрде қайталаймыз.";
const KK_ERROR_REJECTED: &str =
    "Келісім сервисі сұрауды қабылдамады. Бетті жаңартып, таңдауды қайта жасаңыз.";
const KK_ERROR_INVALID: &str = "Келісім сервисі қате жауап қайтарды. Кейінірек қайталап көріңіз.";
const KK_ERROR_STORAGE: &str =
    "Браузер таңдауыңызды есте сақтауға мүмкіндік бермейді: ол тек осы бетте әрекет етеді, \
                    келесі жолы қайта сұраймыз.";

static RU_MESSAGES: Messages = Messages {
    network: RU_ERROR_NETWORK,
    timeout: RU_ERROR_TIMEOUT,
    server: RU_ERROR_SERVER,
    rejected: RU_ERROR_REJECTED,
    invalid: RU_ERROR_INVALID,
    storage: RU_ERROR_STORAGE,
    acceptance_required: RU_ACCEPTANCE_REQUIRED,
};

static KK_MESSAGES: Messages = Messages {
    network: KK_ERROR_NETWORK,
    timeout: KK_ERROR_TIMEOUT,
    server: KK_ERROR_SERVER,
    rejected: KK_ERROR_REJECTED,
    invalid: KK_ERROR_INVALID,
    storage: KK_ERROR_STORAGE,
    acceptance_required: KK_ACCEPTANCE_REQUIRED,
};

/// The runtime's messages in `lang`.
pub fn messages(lang: Language) -> &'static Messages {
    match lang {
        Language::Ru => &RU_MESSAGES,
        Language::Kk => &KK_MESSAGES,
    }
}

/// The banner's strings of `lang`.
pub fn banner(lang: Language) -> &'static Banner {
    match lang {
        Language::Ru => &RU_BANNER,
        Language::Kk => &KK_BANNER,
    }
}

/// The strings of `lang`.
pub fn text(lang: Language) -> &'static Text {
    match lang {
        Language::Ru => &RU,
        Language::Kk => &KK,
    }
}

/// The message for an error code (see `SdkError::code`) in `lang`, for `:error` events.
pub fn error_message(code: &str, lang: Language) -> &'static str {
    let m = messages(lang);
    match code {
        "network" => m.network,
        "timeout" => m.timeout,
        "server_error" => m.server,
        "rejected" => m.rejected,
        "storage" => m.storage,
        _ => m.invalid,
    }
}

/// Chooses the interface language from, in order: the integrator's config, the page's
/// `?lang=` parameter, `<html lang>`, the browser's languages; Russian if none is supported.
pub fn choose_language<'a>(
    configured: Option<Language>,
    query: Option<&str>,
    html_lang: Option<&str>,
    browser: impl IntoIterator<Item = &'a str>,
) -> Language {
    configured
        .or_else(|| query.and_then(Language::from_tag))
        .or_else(|| html_lang.and_then(Language::from_tag))
        .or_else(|| Language::from_tags(browser))
        .unwrap_or_default()
}

/// The value of `name` in a URL query string (`?a=1&lang=kk`), without percent-decoding:
/// language tags need none.
pub fn query_param<'q>(search: &'q str, name: &str) -> Option<&'q str> {
    search.trim_start_matches('?').split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_strings(t: &Text) -> [&'static str; 32] {
        [
            t.banner.banner_title,
            t.banner.banner_body,
            t.banner.accept_all,
            t.banner.reject_all,
            t.banner.settings,
            t.banner.policy_link,
            t.banner.language,
            t.preferences_title,
            t.preferences_intro,
            t.always_on,
            t.purposes,
            t.services,
            t.cookies,
            t.save,
            t.close,
            t.loading,
            t.policy_failed,
            t.retry,
            t.acceptance_title,
            t.acceptance_body,
            t.acceptance_confirm,
            t.acceptance_required,
            t.cancel,
            t.saving,
            t.saved,
            t.error_network,
            t.error_timeout,
            t.error_server,
            t.error_rejected,
            t.error_invalid,
            t.error_storage,
            t.banner.gpc_note,
        ]
    }

    #[test]
    fn every_string_exists_in_both_languages_and_differs() {
        let (ru, kk) = (
            all_strings(text(Language::Ru)),
            all_strings(text(Language::Kk)),
        );
        for (r, k) in ru.iter().zip(kk) {
            assert!(!r.trim().is_empty() && !k.trim().is_empty());
            assert_ne!(*r, k, "untranslated: {r}");
            // Continuation lines must not leave double spaces behind.
            assert!(!r.contains("  ") && !k.contains("  "), "{r} / {k}");
        }
    }

    #[test]
    fn kazakh_uses_kazakh_letters_and_the_policy_vocabulary() {
        let kk = all_strings(text(Language::Kk)).concat();
        assert!(kk.chars().any(|c| "әғқңөұүһі".contains(c)));
        for word in ["дербес деректер", "келісім", "cookie файлдары", "Саясат"]
        {
            assert!(kk.contains(word), "{word}");
        }
    }

    #[test]
    fn error_codes_have_messages() {
        assert_eq!(error_message("timeout", Language::Kk), KK.error_timeout);
        assert_eq!(error_message("network", Language::Ru), RU.error_network);
        assert_eq!(
            error_message("bad_signature", Language::Ru),
            RU.error_invalid
        );
    }

    #[test]
    fn language_is_chosen_in_order() {
        let browser = ["en-US", "kk-KZ"];
        assert_eq!(
            choose_language(Some(Language::Ru), Some("kk"), Some("kk"), browser),
            Language::Ru
        );
        assert_eq!(
            choose_language(None, Some("kz"), Some("ru"), browser),
            Language::Kk
        );
        assert_eq!(
            choose_language(None, Some("en"), Some("ru-RU"), browser),
            Language::Ru
        );
        assert_eq!(
            choose_language(None, None, Some("en"), browser),
            Language::Kk
        );
        assert_eq!(
            choose_language(None, None, None, ["en", "de"]),
            Language::Ru
        );
    }

    #[test]
    fn query_param_finds_the_value() {
        assert_eq!(query_param("?a=1&lang=kk", "lang"), Some("kk"));
        assert_eq!(query_param("lang=ru", "lang"), Some("ru"));
        assert_eq!(query_param("?language=kk", "lang"), None);
        assert_eq!(query_param("", "lang"), None);
    }
}
